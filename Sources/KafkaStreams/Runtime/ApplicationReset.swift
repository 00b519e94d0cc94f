import Foundation
import Logging
import RdKafka

/// Resets an application so that its next run reprocesses its input, as Kafka's
/// `kafka-streams-application-reset` does: the group's offsets on the input topics move
/// (to the earliest, the latest, a time, a duration ago, or an offset), its user-managed
/// intermediate topics are skipped to their ends, its internal topics (changelogs,
/// repartition topics) are deleted, and its local state directory is deleted.
///
/// ```swift
/// var reset = ApplicationReset(applicationID: "orders-per-minute", bootstrapServers: servers, inputTopics: ["orders"])
/// reset.position = .time(millisecondsSinceEpoch: 1_796_025_600_000)  // 2026-11-30T08:00:00Z
/// reset.stateDirectory = "/var/lib/orders"
/// print(try await reset.plan(logger: logger))          // a dry run: changes nothing
/// try await reset.run(logger: logger)
/// ```
///
/// Every instance of the application must be stopped: the reset refuses while the group
/// has members (on a real broker, the offset commit itself is the check: a broker accepts
/// a commit from outside a group only when the group is empty), and while an instance on
/// this host holds the state directory.
///
/// On librdkafka's mock cluster (the embedded broker), which cannot delete topics nor
/// accept a commit from outside a group it has seen, the reset joins the group to commit
/// (and refuses unless that gives it every input partition, which a running member would
/// keep some of when every input topic has at least as many partitions as the group has
/// members with the reset; with fewer, the mock's random member order decides, so stop the
/// instances first there), and instead of deleting the internal topics it writes a tombstone for
/// every key of each changelog (a restore then ends with empty stores) and moves the
/// group's offsets of the repartition topics to their ends. The plan says so.
public struct ApplicationReset: Sendable {
    /// Where the group's offset of each input partition goes.
    public enum Position: Sendable, Hashable {
        /// The first offset still in the log.
        case earliest
        /// The end: skip everything written so far.
        case latest
        /// This offset in every partition (kept within the log).
        case offset(Int64)
        /// The first record at or after this time (the end where none is).
        case time(millisecondsSinceEpoch: Int64)
        /// The first record at or after this long before now.
        case before(Duration)
        /// This many records after (negative: before) the group's committed offset, kept
        /// within the log; from the earliest where nothing is committed.
        case shift(by: Int64)
    }

    public var applicationID: String
    public var bootstrapServers: String
    /// The topics the application reads (source topics and tables).
    public var inputTopics: [String]
    /// Topics the application writes and reads back itself (not internal): the group's
    /// offsets of them move to their ends, so old records are not read again.
    public var intermediateTopics: [String] = []
    public var position: Position = .earliest
    /// The internal topics to delete; `nil`: every topic named `<applicationId>-…` ending in
    /// `-changelog`, `-repartition` or `-topic` (a foreign-key join's). Name them when
    /// another application's id starts with this one's and a dash.
    public var internalTopics: [String]?
    /// Where the application keeps its state (``StreamsConfiguration/stateDirectory``):
    /// its `<applicationId>` directory is deleted. `nil`: local state is left alone.
    public var stateDirectory: String?
    /// Client properties on top of the bootstrap servers (security settings, say).
    public var clientProperties = KafkaConfiguration()
    /// How long each request to the cluster may take.
    public var timeout: Duration = .seconds(30)

    public init(applicationID: String, bootstrapServers: String, inputTopics: [String]) {
        self.applicationID = applicationID
        self.bootstrapServers = bootstrapServers
        self.inputTopics = inputTopics
    }

    /// What ``run(logger:)`` would do, changing nothing (a dry run). Checks that the
    /// group has no members as far as it can without a change (see ``Plan/memberCheck``).
    public func plan(logger: Logger) async throws -> Plan {
        try await onOwnThread(named: "streams:reset") { try ResetSession(reset: self, logger: logger).execute(dryRun: true) }
    }

    /// Resets the application; returns what it did.
    ///
    /// - Throws: ``StreamsError`` of kind `.configuration` when the group has members or an
    ///   instance on this host holds the state directory (nothing is changed then), of kind
    ///   `.missingSourceTopic` for an input topic the cluster lacks, of kind `.kafka` when
    ///   the cluster fails.
    @discardableResult
    public func run(logger: Logger) async throws -> Plan {
        try await onOwnThread(named: "streams:reset") { try ResetSession(reset: self, logger: logger).execute(dryRun: false) }
    }

    /// What a reset does (or did).
    public struct Plan: Sendable, CustomStringConvertible {
        /// The group's offset of one partition: committed before, and where it goes.
        public struct OffsetChange: Sendable, Hashable {
            public let topic: String
            public let partition: Int32
            /// `nil`: nothing committed.
            public let committed: Int64?
            public let target: Int64
        }

        /// How internal topics are dealt with.
        public enum InternalTopicHandling: Sendable, Hashable {
            /// Deleted through the cluster's admin API.
            case delete
            /// The cluster cannot delete topics (the mock): changelogs and the instances'
            /// announcements get a tombstone per key, repartition topics' offsets move to
            /// their ends.
            case emptyInPlace(reason: String)
        }

        public let applicationID: String
        public let dryRun: Bool
        /// Input, intermediate (and, where topics stay, repartition) partitions.
        public let offsets: [OffsetChange]
        public let internalTopics: [String]
        public let internalTopicHandling: InternalTopicHandling
        /// Tombstones written to changelogs and the instances' announcements (emptying in
        /// place), or to be written.
        public let changelogTombstones: Int
        /// The local directory deleted, or to be deleted; `nil` when there is none.
        public let stateDirectory: String?
        /// How the absence of members was established.
        public let memberCheck: String

        public var description: String {
            var lines = ["\(dryRun ? "Dry run: would reset" : "Reset") application \(applicationID)"]
            lines.append("  members: \(memberCheck)")
            for change in offsets {
                lines.append("  offset \(change.topic)[\(change.partition)]: \(change.committed.map(String.init) ?? "none") -> \(change.target)")
            }
            switch internalTopicHandling {
            case .delete:
                lines.append("  internal topics \(dryRun ? "to delete" : "deleted"): \(internalTopics.isEmpty ? "none" : internalTopics.joined(separator: ", "))")
            case .emptyInPlace(let reason):
                lines.append("  internal topics kept (\(reason)): \(internalTopics.isEmpty ? "none" : internalTopics.joined(separator: ", "))")
                lines.append("  tombstones (changelogs, announcements) \(dryRun ? "to write" : "written"): \(changelogTombstones)")
            }
            lines.append("  local state \(dryRun ? "to delete" : "deleted"): \(stateDirectory ?? "none")")
            return lines.joined(separator: "\n")
        }
    }
}
