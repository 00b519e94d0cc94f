import Foundation
import Logging
import RdKafka
import Synchronization
import Testing

/// Logs to stderr at warning level and above, so test output stays readable.
let testLogger: Logger = {
    var logger = Logger(label: "rdkafka-tests") { label in StreamLogHandler.standardError(label: label) }
    logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    return logger
}()

/// A fresh mock cluster per test: tests never share topics or groups, so they run in
/// parallel.
func makeCluster(brokers: Int = 1, topics: [String: Int] = [:]) throws -> MockCluster {
    let cluster = try MockCluster(brokers: brokers, logger: testLogger)
    for (name, partitions) in topics { try cluster.createTopic(name, partitions: partitions) }
    return cluster
}

/// Settings that make the mock cluster's groups and fetches fast (see FIELD-NOTES.md).
func consumerConfiguration(_ cluster: MockCluster, group: String? = nil, extra: [String: String] = [:]) -> KafkaConfiguration {
    var configuration = KafkaConfiguration()
    configuration.bootstrapServers = [cluster.bootstrapServers]
    configuration.groupID = group
    configuration.sessionTimeout = .milliseconds(4000)
    configuration.autoOffsetReset = "earliest"
    configuration.enableAutoCommit = false
    configuration["fetch.wait.max.ms"] = "10"
    configuration["fetch.error.backoff.ms"] = "10"
    configuration["heartbeat.interval.ms"] = "500"
    return configuration.merging(extra)
}

func producerConfiguration(_ cluster: MockCluster, extra: [String: String] = [:]) -> KafkaConfiguration {
    var configuration = KafkaConfiguration()
    configuration.bootstrapServers = [cluster.bootstrapServers]
    configuration["linger.ms"] = "1"
    return configuration.merging(extra)
}

/// Polls (on the consumer's own thread) until `count` records arrived or `timeout` passed.
func pollRecords(_ consumer: Consumer, count: Int, timeout: Duration = .seconds(30)) async throws -> [ConsumerRecord] {
    var records: [ConsumerRecord] = []
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while records.count < count && ContinuousClock.now < deadline {
        records += try await consumer.poll(maxRecords: count - records.count, timeout: .milliseconds(100))
    }
    return records
}

/// Polls (on the consumer's own thread) until `condition` holds or `timeout` passed,
/// collecting what arrives.
func pollUntil(
    _ consumer: Consumer, timeout: Duration = .seconds(30), _ condition: @Sendable () -> Bool,
    onBatch: @Sendable ([ConsumerRecord]) -> Void = { _ in }
) async throws -> [ConsumerRecord] {
    var records: [ConsumerRecord] = []
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while !condition() && ContinuousClock.now < deadline {
        let batch = try await consumer.poll(maxRecords: 500, timeout: .milliseconds(100))
        onBatch(batch)
        records += batch
    }
    return records
}

/// Record values (as text) gathered from several consumers polling concurrently.
final class ValueCollector: Sendable {
    private let values = Mutex<[String]>([])
    func add(_ records: [ConsumerRecord]) {
        values.withLock { $0 += records.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } } }
    }
    var all: [String] { values.withLock { $0 } }
}

/// Produces `count` records `prefix-0`, `prefix-1`, ... and waits for all acknowledgements.
func produceNumbered(_ cluster: MockCluster, topic: String, count: Int, prefix: String = "r", partition: Int32? = nil) async throws {
    let producer = try Producer(configuration: producerConfiguration(cluster), logger: testLogger)
    for index in 0..<count {
        try producer.produce(ProducerRecord(
            topic: topic, partition: partition, key: bytes("key-\(index)"), value: bytes("\(prefix)-\(index)")))
    }
    try await producer.flush(timeout: .seconds(30))
    #expect(producer.deliveryFailureCount == 0)
    producer.close()
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// How `task` ended, or `nil` when it had not ended after `timeout`: a test that waits on
/// something which might never finish fails instead of hanging the suite. (A task group
/// would not do: it waits for its children, and a continuation never resumed ignores
/// cancellation.)
func result<T: Sendable>(of task: Task<T, any Error>, within timeout: Duration) async -> Result<T, any Error>? {
    await withCheckedContinuation { continuation in
        let outcome = FirstOutcome(continuation)
        Task { outcome.finish(await task.result) }
        Task {
            try? await Task.sleep(for: timeout)
            outcome.finish(nil)
        }
    }
}

/// Resumes a continuation with whichever outcome comes first.
private final class FirstOutcome<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Result<T, any Error>?, Never>?>

    init(_ continuation: CheckedContinuation<Result<T, any Error>?, Never>) { self.continuation = Mutex(continuation) }

    func finish(_ outcome: Result<T, any Error>?) {
        continuation.withLock { pending in
            pending?.resume(returning: outcome)
            pending = nil
        }
    }
}
