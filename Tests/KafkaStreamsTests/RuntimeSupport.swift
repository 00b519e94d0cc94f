import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka
import Testing

/// Logs to stderr at warning level and above (TEST_LOG_LEVEL overrides).
let streamsTestLogger: Logger = {
    var logger = Logger(label: "kafka-streams-tests") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    return logger
}()

func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

/// Runs an app in the background; `stop()` shuts it down and returns how `run()` ended.
struct RunningApp {
    let app: StreamsApp
    let task: Task<Void, any Error>

    init(_ app: StreamsApp) {
        self.app = app
        task = Task { try await app.run() }
    }

    @discardableResult
    func stop() async -> Result<Void, any Error> {
        app.shutdown()
        return await task.result
    }
}

extension EmbeddedKafkaCluster {
    /// Reads `topic` until its values include every one of `expected` (or `timeout`
    /// passes); returns all its records. Not a count: under at-least-once, repeats alone
    /// could reach one before every value arrived.
    func waitForValues(_ topic: String, including expected: some Sequence<String>, timeout: Duration = .seconds(60)) async throws -> [ConsumerRecord] {
        let wanted = Set(expected)
        return try await waitForRecords(topic, timeout: timeout) { Set($0.compactMap { text($0.value) }).isSuperset(of: wanted) }
    }

    /// Reads `topic` until its records satisfy `done` (or `timeout` passes). Under
    /// at-least-once a count can be reached by repeats alone: wait for the values instead.
    func waitForRecords(
        _ topic: String, timeout: Duration = .seconds(60), until done: ([ConsumerRecord]) -> Bool
    ) async throws -> [ConsumerRecord] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var records: [ConsumerRecord] = []
        while ContinuousClock.now < deadline {
            do {
                records = try await readAll(topic, timeout: .seconds(5))
                if done(records) { break }
            } catch let error as StreamsError where error.kind == .missingSourceTopic {
                // Output topics appear with the first record written to them.
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return records
    }

    /// Waits until `group` has committed `expected` for every partition of `topic`.
    func waitForCommits(group: String, topic: String, expected: [Int32: Int64], timeout: Duration = .seconds(30)) async throws -> [Int32: Int64] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var committed: [Int32: Int64] = [:]
        while ContinuousClock.now < deadline {
            committed = try await committedOffsets(group: group, topic: topic)
            if committed == expected { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return committed
    }

    func produceValues(_ topic: String, _ values: [String], keys: [String]? = nil) async throws {
        try await produce(topic, values.enumerated().map { index, value in
            (key: Array((keys?[index] ?? "key-\(index)").utf8), value: Array(value.utf8))
        })
    }
}

/// Checks `condition` every 100 ms until it holds (true) or `timeout` passes (false).
func waitUntil(timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return condition()
}
