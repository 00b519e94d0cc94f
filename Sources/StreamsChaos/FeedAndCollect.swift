import Foundation
import ChaosScenarios
import Logging
import RdKafka
import Synchronization

/// Writes a scenario's input at a steady rate on a thread of its own until stopped.
final class InputFeeder: Sendable {
    private let producer: Producer
    private let scenario: any KillScenario
    private let interval: Duration
    private let stopping = Atomic<Bool>(false)
    private let written = Atomic<Int>(0)
    private let finished = Mutex<Result<Int, any Error>?>(nil)

    init(scenario: any KillScenario, bootstrapServers: String, recordsPerSecond: Int, logger: Logger) throws {
        var configuration = KafkaConfiguration(properties: ["linger.ms": "5", "enable.idempotence": "true"])
        configuration["bootstrap.servers"] = bootstrapServers
        producer = try Producer(configuration: configuration, logger: logger)
        self.scenario = scenario
        interval = .microseconds(1_000_000 / max(recordsPerSecond, 1))
        startThread(named: "chaos:feed") { [self] in feed() }
    }

    /// Records queued so far.
    var count: Int { written.load(ordering: .relaxed) }

    private func feed() {
        var next = ContinuousClock.now
        do {
            while !stopping.load(ordering: .relaxed) {
                let index = written.load(ordering: .relaxed)
                let (key, value) = scenario.input(index)
                try producer.produce(ProducerRecord(topic: scenario.inputTopic, key: Array(key.utf8), value: Array(value.utf8)))
                written.store(index + 1, ordering: .relaxed)
                next += interval
                let wait = next - ContinuousClock.now
                if wait > .zero { Thread.sleep(forTimeInterval: wait.fractionalSeconds) }
            }
            try producer.flush(timeout: .seconds(30))
            if let failure = producer.takeFirstDeliveryFailure() { throw failure }
            finished.withLock { $0 = .success(written.load(ordering: .relaxed)) }
        } catch {
            finished.withLock { $0 = .failure(error) }
        }
    }

    /// Stops feeding; returns how many records were written, every one acknowledged.
    func stop() throws -> Int {
        stopping.store(true, ordering: .relaxed)
        while true {
            if let result = finished.withLock({ $0 }) {
                producer.close()
                return try result.get()
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
}

/// Reads a scenario's output topics from the start on a thread of its own and hands every
/// record to the scenario.
final class OutputCollector: Sendable {
    private let consumer: Consumer
    private let scenario: Mutex<any KillScenario>
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let failure = Mutex<(any Error)?>(nil)

    /// - Parameter readCommitted: read as `read_committed` consumers do (under
    ///   exactly-once, where aborted outputs must not count).
    init(scenario: any KillScenario, bootstrapServers: String, partitions: Int, readCommitted: Bool, logger: Logger) throws {
        var configuration = KafkaConfiguration(properties: ["fetch.wait.max.ms": "10"])
        configuration["bootstrap.servers"] = bootstrapServers
        configuration["isolation.level"] = readCommitted ? "read_committed" : "read_uncommitted"
        consumer = try Consumer(configuration: configuration, logger: logger)
        try consumer.assign(scenario.outputTopics.flatMap { topic in
            (0..<Int32(partitions)).map { TopicPartitionOffset(topic: topic, partition: $0, offset: 0) }
        })
        self.scenario = Mutex(scenario)
        startThread(named: "chaos:collect") { [self] in collect() }
    }

    private func collect() {
        defer { stopped.store(true, ordering: .releasing) }
        do {
            while !stopping.load(ordering: .relaxed) {
                let records = try consumer.poll(maxRecords: 1000, timeout: .milliseconds(100))
                scenario.withLock { scenario in
                    for record in records { scenario.observe(key: record.key, value: record.value) }
                }
            }
        } catch {
            failure.withLock { $0 = error }
        }
    }

    /// What the outputs read so far show about the first `inputs` inputs; throws when
    /// reading failed.
    func check(inputs: Int) throws -> KillCheck {
        if let error = failure.withLock({ $0 }) { throw error }
        return scenario.withLock { $0.check(inputs: inputs) }
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        while !stopped.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.01) }
        try? consumer.close()
    }
}
