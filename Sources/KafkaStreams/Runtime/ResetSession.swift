import Foundation
import Logging
import RdKafka
import Synchronization

/// One run of an ``ApplicationReset``, on a thread of its own (every call blocks): finds
/// the partitions and their targets, checks that nothing runs, then commits the offsets,
/// deals with the internal topics and deletes the local state, in that order, so a refusal
/// changes nothing.
final class ResetSession {
    private let reset: ApplicationReset
    private let logger: Logger
    private let admin: Admin
    private let reader: Consumer
    private let onMockCluster: Bool

    init(reset: ApplicationReset, logger: Logger) throws {
        self.reset = reset
        self.logger = logger
        var configuration = reset.clientProperties
        configuration["bootstrap.servers"] = reset.bootstrapServers
        configuration.clientID = "\(reset.applicationID)-reset"
        do {
            admin = try Admin(configuration: configuration, logger: logger)
            var readerConfiguration = configuration
            // The application's group, for its committed offsets; a reader never subscribes.
            readerConfiguration.groupID = reset.applicationID
            readerConfiguration.enableAutoCommit = false
            // Reads to a partition's end stop there (the last offsets may be markers).
            readerConfiguration["enable.partition.eof"] = "true"
            reader = try Consumer(configuration: readerConfiguration, logger: logger)
        } catch {
            throw StreamsError(.kafka, "cannot connect to \(reset.bootstrapServers)", underlying: error)
        }
        onMockCluster = admin.isMockCluster(timeout: reset.timeout)
    }

    deinit { try? reader.close() }

    func execute(dryRun: Bool) throws -> ApplicationReset.Plan {
        let localState = try lockLocalState()
        defer { localState?.lock.release() }
        let (counts, internalTopics) = try topics()
        // Where topics stay (the mock), keyed state is emptied with tombstones: the stores'
        // changelogs, and the instances' announcements (a crashed instance's claims would
        // otherwise name it as a host until they time out).
        let instances = InstanceDirectory.topic(applicationID: reset.applicationID)
        let emptiedInPlace = internalTopics.filter { $0.hasSuffix("-changelog") || $0 == instances }
        var offsets = try inputTargets(counts: counts)
        // Records already in these topics were read, or belong to the old run: skip them.
        var skipped = reset.intermediateTopics
        if onMockCluster { skipped += internalTopics.filter { !emptiedInPlace.contains($0) } }
        offsets += try targets(of: partitions(skipped, counts: counts)) { _, marks, _ in marks.high }

        let memberCheck = try checkNoMembers(inputs: partitions(reset.inputTopics, counts: counts), committing: dryRun ? nil : offsets)
        var tombstones = 0
        if onMockCluster {
            tombstones = try writeTombstones(over: partitions(emptiedInPlace, counts: counts), dryRun: dryRun)
        } else if !dryRun {
            try deleteTopics(internalTopics)
        }
        if let localState, !dryRun {
            do {
                try FileManager.default.removeItem(atPath: localState.directory)
            } catch {
                throw StreamsError(.configuration, "cannot delete the local state \(localState.directory)", underlying: error)
            }
        }
        return ApplicationReset.Plan(
            applicationID: reset.applicationID, dryRun: dryRun, offsets: offsets, internalTopics: internalTopics,
            internalTopicHandling: onMockCluster
                ? .emptyInPlace(reason: "the embedded broker cannot delete topics") : .delete,
            changelogTombstones: tombstones, stateDirectory: localState?.directory, memberCheck: memberCheck)
    }

    // MARK: Topics and targets

    /// Every topic's partition count, and the application's internal topics.
    private func topics() throws -> (counts: [String: Int], internal: [String]) {
        let metadata: ClusterMetadata
        do {
            metadata = try admin.metadata(timeout: reset.timeout)
        } catch {
            throw StreamsError(.kafka, "cannot read the cluster's topics", underlying: error)
        }
        let counts = Dictionary(metadata.topics.map { ($0.name, $0.partitions.count) }, uniquingKeysWith: { first, _ in first })
        for topic in reset.inputTopics + reset.intermediateTopics where counts[topic] == nil {
            throw StreamsError(.missingSourceTopic, "topic \(topic) does not exist")
        }
        let internalTopics = reset.internalTopics?.filter { counts[$0] != nil } ?? counts.keys.filter(isInternal)
        return (counts, internalTopics.sorted())
    }

    /// Kafka Streams' naming of internal topics (`<applicationId>-<name>-changelog`, …),
    /// and the instances' announcements (`<applicationId>-instances`).
    private func isInternal(_ topic: String) -> Bool {
        topic == InstanceDirectory.topic(applicationID: reset.applicationID)
            || topic.hasPrefix("\(reset.applicationID)-") && ["-changelog", "-repartition", "-topic"].contains { topic.hasSuffix($0) }
    }

    private func partitions(_ topics: [String], counts: [String: Int]) -> [TopicPartition] {
        topics.flatMap { topic in (0..<(counts[topic] ?? 0)).map { TopicPartition(topic: topic, partition: Int32($0)) } }
    }

    private func inputTargets(counts: [String: Int]) throws -> [ApplicationReset.Plan.OffsetChange] {
        let inputs = partitions(reset.inputTopics, counts: counts)
        switch reset.position {
        case .earliest: return try targets(of: inputs) { _, marks, _ in marks.low }
        case .latest: return try targets(of: inputs) { _, marks, _ in marks.high }
        case .offset(let offset): return try targets(of: inputs) { _, marks, _ in min(max(offset, marks.low), marks.high) }
        case .shift(let shift):
            return try targets(of: inputs) { _, marks, committed in
                committed.map { min(max($0 + shift, marks.low), marks.high) } ?? marks.low
            }
        case .time(let time): return try timeTargets(inputs, time: time)
        case .before(let duration):
            let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
            return try timeTargets(inputs, time: now - duration.wholeMilliseconds)
        }
    }

    /// - Parameter marks: each partition's first offset and end, when the caller has them
    ///   already; read here otherwise.
    private func targets(
        of partitions: [TopicPartition], marks: [TopicPartition: Watermarks]? = nil, _ target: (TopicPartition, Watermarks, Int64?) throws -> Int64
    ) throws -> [ApplicationReset.Plan.OffsetChange] {
        guard !partitions.isEmpty else { return [] }
        let marks = try marks ?? watermarks(partitions)
        let committed: [TopicPartition: Int64]
        do {
            committed = Dictionary(
                try reader.committed(partitions, timeout: reset.timeout).filter { $0.offset >= 0 }.map { ($0.topicPartition, $0.offset) },
                uniquingKeysWith: { first, _ in first })
        } catch {
            throw StreamsError(.kafka, "cannot read the offsets of \(reset.applicationID)", underlying: error)
        }
        return try partitions.map { partition in
            let bounds = marks[partition] ?? Watermarks(low: 0, high: 0)
            return .init(
                topic: partition.topic, partition: partition.partition, committed: committed[partition],
                target: try target(partition, bounds, committed[partition]))
        }
    }

    /// Each partition's first offset and end.
    private func watermarks(_ partitions: [TopicPartition]) throws -> [TopicPartition: Watermarks] {
        var marks: [TopicPartition: Watermarks] = [:]
        do {
            for partition in partitions {
                marks[partition] = try reader.queryWatermarks(topic: partition.topic, partition: partition.partition, timeout: reset.timeout)
            }
        } catch {
            throw StreamsError(.kafka, "cannot read the offsets of \(reset.applicationID)", underlying: error)
        }
        return marks
    }

    /// The first offset at or after `time` in each partition.
    private func timeTargets(_ partitions: [TopicPartition], time: Int64) throws -> [ApplicationReset.Plan.OffsetChange] {
        let marks = try watermarks(partitions)
        let found = try OffsetsByTime.firstOffsets(atOrAfter: time, in: marks, reader: RdKafkaConsumer(reader), timeout: reset.timeout)
        return try targets(of: partitions, marks: marks) { partition, marks, _ in found[partition] ?? marks.high }
    }

    // MARK: Members

    /// Establishes that no instance runs, committing `offsets` on the way when given.
    private func checkNoMembers(inputs: [TopicPartition], committing offsets: [ApplicationReset.Plan.OffsetChange]?) throws -> String {
        let commits = offsets?.map { TopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: $0.target) }
        if onMockCluster { return try checkNoMembersByJoining(inputs: inputs, committing: commits) }
        // A broker takes a commit from outside the group only while the group is empty.
        // A dry run commits back what the group has.
        let committing: [TopicPartitionOffset] = try commits ?? reader.committed(inputs, timeout: reset.timeout).filter { $0.offset >= 0 }
        guard !committing.isEmpty else { return "not checked: the group has no committed offsets to commit back" }
        let refusals: [KafkaErrorCode] = [.unknownMemberID, .rebalanceInProgress, .illegalGeneration]
        do throws(KafkaError) {
            try reader.commit(committing)
        } catch where refusals.contains(error.code) {
            throw activeMembers(error)
        } catch {
            throw StreamsError(.kafka, "cannot commit the offsets of \(reset.applicationID)", underlying: error)
        }
        return "none (the broker accepted a commit from outside the group)"
    }

    /// The mock takes no commit from outside a group it has seen, so the reset joins it:
    /// a running member would keep some of the input partitions.
    private func checkNoMembersByJoining(inputs: [TopicPartition], committing offsets: [TopicPartitionOffset]?) throws -> String {
        var configuration = reset.clientProperties
        configuration["bootstrap.servers"] = reset.bootstrapServers
        // Range assignment gives each member subscribed to a topic at least one of its
        // partitions when the topic has as many partitions as members: a running instance
        // then keeps some, and the reset is refused. With fewer partitions the members
        // first in member-id order take them, and the mock's member ids are heap addresses,
        // in no known order: the check can miss a member then (see `ApplicationReset`).
        configuration.clientID = "\(reset.applicationID)-reset-member"
        configuration.groupID = reset.applicationID
        configuration.enableAutoCommit = false
        configuration.assignmentStrategy = .range
        // The mock holds a join for the session timeout less a second (45 s by default).
        if configuration["session.timeout.ms"] == nil { configuration["session.timeout.ms"] = "6000" }
        if configuration["heartbeat.interval.ms"] == nil { configuration["heartbeat.interval.ms"] = "1000" }
        let joined = Mutex<Set<TopicPartition>?>(nil)
        let member = try Consumer(configuration: configuration, logger: logger) { event, _ in
            if case .assigned(let partitions) = event { joined.withLock { $0 = ($0 ?? []).union(partitions) } }
        }
        defer { try? member.close() }
        try member.subscribe(Array(Set(inputs.map(\.topic))).sorted())
        let deadline = ContinuousClock.now + reset.timeout
        // An assignment, even an empty one, ends the join.
        while joined.withLock({ $0 == nil }) {
            guard ContinuousClock.now < deadline else {
                throw StreamsError(
                    .kafka,
                    "joining the group \(reset.applicationID) took longer than \(reset.timeout): the embedded broker holds a join for members that stopped until their sessions time out (45 s by default, more for its rebalance); try again later")
            }
            _ = try member.poll(maxRecords: 1, timeout: .milliseconds(100))
        }
        let assigned = joined.withLock { $0 ?? [] }
        guard Set(inputs).isSubset(of: assigned) else {
            let missing = Set(inputs).subtracting(assigned).map(\.description).sorted()
            throw StreamsError(
                .configuration,
                "the group \(reset.applicationID) has members: joining it gave the reset \(assigned.count) of \(inputs.count) input partitions (not \(missing.joined(separator: ", "))); stop every instance first")
        }
        if let offsets {
            try member.commit(offsets)
            return "none (the reset joined the group and was given every input partition)"
        }
        return "none (a trial join was given every input partition)"
    }

    private func activeMembers(_ error: KafkaError) -> StreamsError {
        StreamsError(
            .configuration, "the group \(reset.applicationID) has members (the broker refused a commit from outside it); stop every instance first",
            underlying: error)
    }

    // MARK: Internal topics and local state

    private func deleteTopics(_ topics: [String]) throws {
        do {
            try admin.deleteTopics(topics, timeout: reset.timeout)
        } catch {
            throw StreamsError(.kafka, "cannot delete the internal topics of \(reset.applicationID)", underlying: error)
        }
        logger.info("deleted the internal topics of \(reset.applicationID): \(topics.joined(separator: ", "))")
    }

    /// Writes a tombstone for every key whose latest record in a partition is a value, so
    /// a restore ends with the store empty and no instance's announcement stays; returns
    /// how many (to write, in a dry run).
    private func writeTombstones(over partitions: [TopicPartition], dryRun: Bool) throws -> Int {
        var live: [TopicPartition: Set<[UInt8]>] = [:]
        let marks = try watermarks(partitions)
        for partition in partitions {
            var keys: Set<[UInt8]> = []
            try OffsetsByTime.read(partition, within: marks[partition] ?? Watermarks(low: 0, high: 0), reader: RdKafkaConsumer(reader), timeout: reset.timeout) { record in
                if let key = record.key.map(Array.init) {
                    if record.value == nil { keys.remove(key) } else { keys.insert(key) }
                }
                return true
            }
            live[partition] = keys
        }
        let count = live.values.reduce(0) { $0 + $1.count }
        guard !dryRun, count > 0 else { return count }
        var configuration = reset.clientProperties
        configuration["bootstrap.servers"] = reset.bootstrapServers
        configuration.clientID = "\(reset.applicationID)-reset-tombstones"
        let producer = try Producer(configuration: configuration, logger: logger)
        for (partition, keys) in live {
            for key in keys {
                try producer.produce(ProducerRecord(topic: partition.topic, partition: partition.partition, key: key, value: nil))
            }
        }
        try producer.flush(timeout: reset.timeout)
        if let failure = producer.takeFirstDeliveryFailure() {
            throw StreamsError(.kafka, "cannot write tombstones to the internal topics of \(reset.applicationID)", underlying: failure)
        }
        return count
    }

    /// Locks `<stateDirectory>/<applicationId>` if it exists, so no instance on this host
    /// starts on it meanwhile; `nil` when there is none.
    private func lockLocalState() throws -> (directory: String, lock: StateDirectoryLock)? {
        guard let root = reset.stateDirectory else { return nil }
        let directory = "\(root)/\(reset.applicationID)"
        guard FileManager.default.fileExists(atPath: directory) else { return nil }
        let lock = try StateDirectoryLock(
            directory: directory, heldMessage: "an instance of \(reset.applicationID) on this host holds \(directory); stop it first")
        return (directory, lock)
    }
}
