import CoreMetrics
import Dispatch
import Foundation
import KafkaStreams
import Logging
import Metrics
import RdKafka
import Synchronization

/// A StreamsApp running on a task of its own while a benchmark's thread waits and measures.
final class BackgroundApp: @unchecked Sendable {
    let app: StreamsApp
    private let finished = DispatchSemaphore(value: 0)
    private var error: (any Error)?  // written before `finished` is signalled, read after

    init(_ app: StreamsApp) {
        self.app = app
        Task {
            do { try await app.run() } catch { self.error = error }
            finished.signal()
        }
    }

    /// Shuts the app down, waits for it, and rethrows what stopped it.
    func stop() throws {
        app.shutdown()
        finished.wait()
        if let error { throw error }
    }

    /// Whether `run()` has returned (a bounded run that finished, or a failure).
    func waitUntilFinished(timeout: Duration) -> Bool {
        guard finished.wait(timeout: .now() + timeout.fractionalSeconds) == .success else { return false }
        finished.signal()  // for stop()
        return true
    }

    /// Waits (polling) until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    func wait(timeout: Duration, every interval: Double = 0.002, until condition: () throws -> Bool) rethrows -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < timeout {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: interval)
        }
        return try condition()
    }
}

/// Writes `count` records made by `record` (from their index) with a producer that
/// partitions keys as stream apps do, and waits until the broker has every one.
func fillTopic(
    _ topic: String, count: Int, base: KafkaConfiguration, lingerMs: Int, logger: Logger, _ record: (Int) -> ProducerRecord
) throws {
    let producer = try Producer(
        configuration: base.merging(["linger.ms": String(lingerMs), "partitioner": "murmur2_random"]), logger: logger)
    for index in 0..<count { try producer.produce(record(index)) }
    try producer.flush(timeout: .seconds(120))
    guard producer.deliveryFailureCount == 0 else { throw BenchmarkFailure("\(producer.deliveryFailureCount) records to \(topic) failed") }
    producer.close()
}

/// Proves the mock kept every record of `topic` (it keeps ~5 MiB per partition): each
/// partition still starts at offset 0 and together they hold exactly `records`.
func verifyRetained(_ topic: String, partitions: Int, records: Int, inspector: Consumer) throws {
    var total: Int64 = 0
    for partition in 0..<Int32(partitions) {
        let marks = try inspector.queryWatermarks(topic: topic, partition: partition, timeout: .seconds(10))
        guard marks.low == 0 else {
            throw BenchmarkFailure("\(topic)[\(partition)] dropped \(marks.low) records (retention): use more partitions")
        }
        total += marks.high
    }
    guard total == Int64(records) else { throw BenchmarkFailure("\(topic) holds \(total) records, expected \(records)") }
}

/// What the process holds in memory, from /proc/self/status.
enum ProcessMemory {
    /// The peak resident set size so far (VmHWM), in bytes.
    static var peakResidentBytes: Double { field("VmHWM:") }
    /// The resident set size now (VmRSS), in bytes.
    static var residentBytes: Double { field("VmRSS:") }

    /// Returns the memory the allocator keeps after frees to the system (glibc's
    /// `malloc_trim`), so resident size counts what is in use.
    static func returnFreedMemory() {
        #if os(Linux)
        _ = mallocTrim(0)
        #endif
    }

    /// Makes the peak start again from the resident size now (Linux's clear_refs "5"), so
    /// a run in a process that ran others before reports its own peak.
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    private static func field(_ name: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
              let kilobytes = Double(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces).dropLast(3).trimmingCharacters(in: .whitespaces))
        else { return 0 }
        return kilobytes * 1024
    }
}

/// Counts `kafka_streams_records_processed_total` over all apps of the process (a
/// swift-metrics backend bootstrapped on first use).
final class ProcessedCounter: MetricsFactory, CounterHandler, Sendable {
    static let shared: ProcessedCounter = {
        let counter = ProcessedCounter()
        MetricsSystem.bootstrap(counter)
        return counter
    }()

    private let total = Atomic<Int64>(0)
    private let timers = Mutex<[String: [SummingTimer]]>([:])
    var value: Int64 { total.load(ordering: .acquiring) }

    func increment(by amount: Int64) { total.add(amount, ordering: .relaxed) }
    func reset() {}

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        label == "kafka_streams_records_processed_total" ? self : NOOPMetricsHandler.instance
    }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler { NOOPMetricsHandler.instance }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        label == "kafka_streams_bounded_run_finished" ? boundedRunEnd : NOOPMetricsHandler.instance
    }
    /// When a bounded run said it was done.
    let boundedRunEnd = FirstOneRecorder()
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let timer = SummingTimer()
        timers.withLock { $0[label, default: []].append(timer) }
        return timer
    }

    /// Seconds recorded so far by the timers of `label`, over all apps.
    func seconds(of label: String) -> Double {
        timers.withLock { $0[label, default: []].reduce(0) { $0 + Double($1.total.load(ordering: .relaxed)) / 1e9 } }
    }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

/// Keeps the time a gauge was first set to 1 since ``reset()``.
final class FirstOneRecorder: RecorderHandler, Sendable {
    private let reachedOne = Mutex<ContinuousClock.Instant?>(nil)
    var time: ContinuousClock.Instant? { reachedOne.withLock { $0 } }
    func reset() { reachedOne.withLock { $0 = nil } }
    func record(_ value: Int64) { record(Double(value)) }
    func record(_ value: Double) {
        guard value == 1 else { return }
        reachedOne.withLock { $0 = $0 ?? .now }
    }
}

/// A timer that keeps only the sum of what it recorded.
final class SummingTimer: TimerHandler, Sendable {
    let total = Atomic<Int64>(0)
    func recordNanoseconds(_ duration: Int64) { total.add(duration, ordering: .relaxed) }
}

#if os(Linux)
// glibc's malloc.h, which the Glibc module does not export.
@_silgen_name("malloc_trim") private func mallocTrim(_ pad: Int) -> Int32
#endif
