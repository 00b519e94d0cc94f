import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka

/// End-to-end latency of the fraud-alerts topology (a stream–table join of each payment
/// with its card's profile, and a stream–stream self-join of each card's payments within
/// ten minutes) at a steady input rate: from each payment's timestamp (its send time) to
/// its verdict read back from the output topic. At-least-once, commit every 100 ms, on the
/// embedded broker, whose sockets keep Nagle's algorithm on (FIELD-NOTES: ~40 ms per flush).
///
/// A warm-up at the same rate comes first and is reported apart (`warmup_max_ms`), as
/// load benchmarks do: the clients' first fetches and produces hold the first half second
/// of records, which says nothing about the steady state.
struct LatencyBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency", abstract: "End-to-end latency of the fraud-alerts joins at a steady rate (p50, p99, max).")

    @Option(help: "Payments per second.") var rate = 5_000
    @Option(help: "Seconds of measured input.") var seconds = 60
    @Option(help: "Seconds of input before the measured ones, reported apart.") var warmupSeconds = 5
    @Option(help: "Cards (table rows); each pays every cards / rate seconds.") var cards = 100_000
    @Option(help: "Partitions of every topic.") var partitions = 3

    func run() throws {
        var logger = Logger(label: "streams-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: 1, logger: logger)
        for topic in ["lat-profiles", "lat-payments", "lat-verdicts", "lat-pairs"] { try cluster.createTopic(topic, partitions: partitions) }
        var base = KafkaConfiguration()
        base.bootstrapServers = [cluster.bootstrapServers]
        let countries = ["FR", "DE", "US", "GB", "JP"]
        try fillTopic("lat-profiles", count: cards, base: base, lingerMs: 5, logger: logger) { index in
            ProducerRecord(topic: "lat-profiles", key: Array("card-\(index)".utf8), value: Array("\(countries[index % 5]):50000".utf8), timestamp: 1)
        }

        let builder = StreamsBuilder()
        let profiles = builder.table("lat-profiles", key: .string, value: .string)
        let payments = builder.stream("lat-payments", key: .string, value: .string)
        payments.leftJoin(profiles) { payment, profile in Self.verdict(payment, profile) }.to("lat-verdicts", key: .string, value: .string)
        payments.join(payments, windows: .timeDifference(.seconds(600), grace: .seconds(60))) { earlier, later in "\(earlier)|\(later)" }
            .filter { _, pair in Self.twoCountries(pair) }
            .to("lat-pairs", key: .string, value: .string)
        var configuration = StreamsConfiguration(applicationID: "latency-bench", bootstrapServers: cluster.bootstrapServers)
        configuration.commitInterval = .milliseconds(100)
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("latency-bench-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: configuration.stateDirectory) }
        configuration.consumerProperties = KafkaConfiguration(properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "fetch.wait.max.ms": "10"])
        let app = try StreamsApp(topology: try builder.build(), configuration: configuration, logger: logger)
        let running = BackgroundApp(app)
        let clock = ContinuousClock()
        let launched = clock.now
        while app.activeTasks.count < partitions && clock.now - launched < .seconds(60) { Thread.sleep(forTimeInterval: 0.01) }

        let warmup = rate * warmupSeconds
        let total = warmup + rate * seconds
        let reader = LatencyReader(topic: "lat-verdicts", partitions: partitions, base: base, logger: logger, expected: total)
        progress("sending \(rate) payments/s for \(warmupSeconds) s of warm-up, then \(seconds) s measured")
        try sendSteadily(total: total, base: base, logger: logger, countries: countries)
        let samples = reader.wait(timeout: .seconds(60))
        try running.stop()
        guard samples.count == total else { throw BenchmarkFailure("read \(samples.count) of \(total) verdicts") }
        // Verdicts come back in another order than payments went out: the send time tells
        // warm-up from measured.
        let byTime = samples.sorted { $0.sentAt < $1.sentAt }
        let warmupMax = byTime.prefix(warmup).map(\.latency).max() ?? 0
        let measured = byTime.dropFirst(warmup)
        let sorted = measured.map(\.latency).sorted()
        func percentile(_ p: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) }
        let details: [String: Double] = [
            "rate": Double(rate), "seconds": Double(seconds), "warmup_seconds": Double(warmupSeconds),
            "cards": Double(cards), "partitions": Double(partitions),
            "p50_ms": percentile(0.5), "p90_ms": percentile(0.9), "p99_ms": percentile(0.99), "max_ms": Double(sorted.last ?? 0),
            "worst_second_p99_ms": Double(Self.worstSecondP99(measured)), "warmup_max_ms": Double(warmupMax),
            "peak_rss_mib": (ProcessMemory.peakResidentBytes / 1_048_576).rounded(),
        ]
        progress("latency p50 \(Int(percentile(0.5))) ms, p90 \(Int(percentile(0.9))) ms, p99 \(Int(percentile(0.99))) ms, max \(sorted.last ?? 0) ms; warm-up max \(warmupMax) ms")
        try BenchmarkReport(bench: "latency", records: rate * seconds, rate: Double(rate), baseline: "none", baselineRate: 0, details: details).print()
    }

    /// The highest p99 of any one second of sends: a latency that creeps up over the run
    /// (a queue building) shows here even when the whole run's p99 hides it.
    static func worstSecondP99(_ samples: ArraySlice<(sentAt: Int64, latency: Int64)>) -> Int64 {
        guard let first = samples.first?.sentAt else { return 0 }
        let bySecond = Dictionary(grouping: samples) { ($0.sentAt - first) / 1_000 }
        return bySecond.values.map { second in
            let sorted = second.map(\.latency).sorted()
            return sorted[sorted.count * 99 / 100]
        }.max() ?? 0
    }

    /// `ok`, or `alert` for a payment abroad over its card's limit.
    static func verdict(_ payment: String, _ profile: String?) -> String {
        guard let profile else { return "unknown card" }
        let (country, amount) = (payment.prefix(2), Int64(payment.dropFirst(3)) ?? 0)
        let (home, limit) = (profile.prefix(2), Int64(profile.dropFirst(3)) ?? 0)
        return country != home && amount > limit ? "alert" : "ok"
    }

    static func twoCountries(_ pair: String) -> Bool {
        let parts = pair.split(separator: "|")
        return parts.count == 2 && parts[0].prefix(2) != parts[1].prefix(2)
    }

    /// Sends `total` payments at `rate` per second, each stamped with its send time.
    private func sendSteadily(total: Int, base: KafkaConfiguration, logger: Logger, countries: [String]) throws {
        // librdkafka's default linger (5 ms), counted in the latency. With none, payments
        // went out in many more, smaller batches, and the embedded broker, which finds a
        // fetch's batch by walking the partition's list of them (up to 100,000), fell
        // behind within a minute: latency climbed past a second.
        let producer = try Producer(configuration: base.merging(["linger.ms": "5"]), logger: logger)
        let clock = ContinuousClock()
        let start = clock.now
        let perTick = max(rate / 100, 1)
        var sent = 0
        while sent < total {
            let due = start.advanced(by: .milliseconds(10 * (sent / perTick)))
            if clock.now < due { Thread.sleep(forTimeInterval: (due - clock.now).fractionalSeconds) }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for _ in 0..<min(perTick, total - sent) {
                let card = sent % cards
                let value = "\(countries[(sent / cards) % 5]):\(sent % 90_000)"
                try producer.produce(ProducerRecord(topic: "lat-payments", key: Array("card-\(card)".utf8), value: Array(value.utf8), timestamp: now))
                sent += 1
            }
        }
        try producer.flush(timeout: .seconds(30))
        producer.close()
    }
}

/// Reads an output topic on a thread of its own and keeps each record's latency: the
/// wall-clock time it was read, less its timestamp (its input's send time).
final class LatencyReader: @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [(sentAt: Int64, latency: Int64)] = []
    private let done = DispatchSemaphore(value: 0)
    private let expected: Int

    init(topic: String, partitions: Int, base: KafkaConfiguration, logger: Logger, expected: Int) {
        self.expected = expected
        let thread = Thread { [self] in
            do {
                // The embedded broker holds an empty fetch the full wait and walks the
                // partition's batches on every fetch: 10 ms adds at most that to a reading,
                // where 1 ms spent the broker's CPU on a thousand walks a second.
                let consumer = try Consumer(configuration: base.merging(["fetch.wait.max.ms": "10", "group.id": "latency-reader"]), logger: logger)
                try consumer.assign((0..<Int32(partitions)).map { TopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
                var count = 0
                while count < expected {
                    let records = try consumer.poll(maxRecords: 1000, timeout: .milliseconds(100))
                    let now = Int64(Date().timeIntervalSince1970 * 1000)
                    lock.withLock { samples += records.map { ($0.timestamp, now - $0.timestamp) } }
                    count += records.count
                }
                try? consumer.close()
            } catch {
                progress("latency reader failed: \(error)")
            }
            done.signal()
        }
        thread.start()
    }

    /// Each record's send time and latency, once every record came or `timeout` passed.
    func wait(timeout: Duration) -> [(sentAt: Int64, latency: Int64)] {
        _ = done.wait(timeout: .now() + timeout.fractionalSeconds)
        return lock.withLock { samples }
    }
}
