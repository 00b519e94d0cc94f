import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka

/// `streams-reset`: makes an application's next run reprocess its input (Kafka's
/// `kafka-streams-application-reset`), through ``ApplicationReset``.
@main
struct StreamsReset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams-reset",
        abstract: "Resets a stream processing application so that its next run reprocesses its input.",
        discussion: """
            Moves the group's offsets on the input topics (to the earliest by default), skips the \
            intermediate topics to their ends, deletes the internal topics (changelogs, repartition \
            topics, the instances' announcements) and, with --state-dir, the local state. Stop every \
            instance first: the reset refuses while the group has members. On the embedded broker, \
            which cannot delete topics, changelogs and announcements are emptied with tombstones instead. --dry-run prints the plan and changes nothing.
            """)

    @Option(name: .customLong("application-id"), help: "The application's id (its group id and internal topic prefix).")
    var applicationID: String

    @Option(name: .customLong("bootstrap-servers"), help: "Brokers to connect to.")
    var bootstrapServers = "localhost:9092"

    @Option(name: .customLong("input-topics"), parsing: .upToNextOption, help: "The topics the application reads (comma or space separated).")
    var inputTopics: [String] = []

    @Option(name: .customLong("intermediate-topics"), parsing: .upToNextOption, help: "Topics it writes and reads back: skipped to their ends.")
    var intermediateTopics: [String] = []

    @Option(name: .customLong("internal-topics"), parsing: .upToNextOption, help: "The internal topics to delete (default: found by name).")
    var internalTopics: [String] = []

    @Flag(name: .customLong("to-earliest"), help: "Input offsets to the first offset still in the log (the default).")
    var toEarliest = false

    @Flag(name: .customLong("to-latest"), help: "Input offsets to the end: skip everything written so far.")
    var toLatest = false

    @Option(name: .customLong("to-offset"), help: "Input offsets to this offset in every partition.")
    var toOffset: Int64?

    @Option(name: .customLong("shift-by"), help: "Input offsets moved this many records from the committed ones (negative: back).")
    var shiftBy: Int64?

    @Option(name: .customLong("to-datetime"), help: "Input offsets to the first record at or after this time (ISO 8601; UTC without a zone).")
    var toDatetime: String?

    @Option(name: .customLong("by-duration"), help: "Input offsets to the first record at or after this long ago (ISO 8601, e.g. PT30M, P1DT2H).")
    var byDuration: String?

    @Option(name: .customLong("state-dir"), help: "The application's state directory: its <application-id> directory is deleted.")
    var stateDirectory: String?

    @Option(name: .customLong("config"), help: "A client property, key=value (repeatable).")
    var properties: [String] = []

    @Flag(name: .customLong("dry-run"), help: "Print what would be done; change nothing.")
    var dryRun = false

    func validate() throws {
        guard !inputTopics.isEmpty || !intermediateTopics.isEmpty else {
            throw ValidationError("name the input topics (--input-topics)")
        }
        let positions = [toEarliest, toLatest, toOffset != nil, shiftBy != nil, toDatetime != nil, byDuration != nil].filter { $0 }.count
        guard positions <= 1 else { throw ValidationError("choose one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, --by-duration") }
        for property in properties where !property.contains("=") {
            throw ValidationError("--config \(property): expected key=value")
        }
    }

    func run() async throws {
        var reset = ApplicationReset(applicationID: applicationID, bootstrapServers: bootstrapServers, inputTopics: Self.split(inputTopics))
        reset.intermediateTopics = Self.split(intermediateTopics)
        if !internalTopics.isEmpty { reset.internalTopics = Self.split(internalTopics) }
        reset.stateDirectory = stateDirectory
        reset.position = try position()
        for property in properties {
            let parts = property.split(separator: "=", maxSplits: 1).map(String.init)
            reset.clientProperties[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        var logger = Logger(label: "streams-reset")
        logger.logLevel = .warning
        do {
            let plan = dryRun ? try await reset.plan(logger: logger) : try await reset.run(logger: logger)
            print(plan)
        } catch {
            FileHandle.standardError.write(Data("streams-reset: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    private func position() throws -> ApplicationReset.Position {
        if toLatest { return .latest }
        if let toOffset { return .offset(toOffset) }
        if let shiftBy { return .shift(by: shiftBy) }
        if let toDatetime {
            guard let time = DateArgument.millisecondsSinceEpoch(toDatetime) else {
                throw ValidationError("--to-datetime \(toDatetime): expected ISO 8601, e.g. 2026-11-30T08:00:00Z")
            }
            return .time(millisecondsSinceEpoch: time)
        }
        if let byDuration {
            guard let duration = DurationArgument.parse(byDuration) else {
                throw ValidationError("--by-duration \(byDuration): expected an ISO 8601 duration, e.g. PT30M or P1DT2H")
            }
            return .before(duration)
        }
        return .earliest
    }

    /// Topics given as `a,b c` (commas or separate arguments).
    static func split(_ arguments: [String]) -> [String] {
        arguments.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
    }
}
