import CoreMetrics
import Metrics
import Synchronization

/// A swift-metrics backend that sums counters, bootstrapped once for the test process.
/// Apps created after `TestMetrics()` report into it.
struct TestMetrics {
    private static let factory: RecordingMetricsFactory = {
        let factory = RecordingMetricsFactory()
        MetricsSystem.bootstrap(factory)
        return factory
    }()

    init() { _ = Self.factory }

    /// The sum of the counters called `label` of one application.
    func total(_ label: String, application: String) -> Int64 {
        Self.factory.total(label) { $0.contains { $0 == ("application_id", application) } }
    }

    /// The last value of each gauge called `label` of one application (with the dimension
    /// `filter`, if given), by the value of its dimension `by` (gauges destroyed since are
    /// left out).
    func gauges(_ label: String, application: String, where filter: (String, String)? = nil, by dimension: String) -> [String: Double] {
        Self.factory.gauges(label) { dimensions in
            dimensions.contains { $0 == ("application_id", application) } && filter.map { wanted in dimensions.contains { $0 == wanted } } ?? true
        }.reduce(into: [:]) { values, gauge in
            if let key = gauge.dimensions.first(where: { $0.0 == dimension })?.1 { values[key] = gauge.value }
        }
    }

    /// The largest value each gauge called `label` of one application ever had, by the
    /// value of its dimension `by` (over every gauge of that name and dimension value).
    func gaugeMaxima(_ label: String, application: String, by dimension: String) -> [String: Double] {
        Self.factory.gaugeMaxima(label) { $0.contains { $0 == ("application_id", application) } }.reduce(into: [:]) { maxima, gauge in
            if let key = gauge.dimensions.first(where: { $0.0 == dimension })?.1 { maxima[key] = max(maxima[key] ?? gauge.maximum, gauge.maximum) }
        }
    }

    /// How many times the timers called `label` of one application have recorded.
    func timings(_ label: String, application: String) -> Int64 {
        Self.factory.timings(label) { $0.contains { $0 == ("application_id", application) } }
    }

    /// The sum of the counters called `label` of one application with `dimension` too.
    func total(_ label: String, application: String, where dimension: (String, String)) -> Int64 {
        Self.factory.total(label) { $0.contains { $0 == ("application_id", application) } && $0.contains { $0 == dimension } }
    }
}

final class RecordingMetricsFactory: MetricsFactory, Sendable {
    private let counters = Mutex<[(label: String, dimensions: [(String, String)], counter: RecordingCounter)]>([])

    func total(_ label: String, where matches: ([(String, String)]) -> Bool) -> Int64 {
        counters.withLock { entries in
            entries.filter { $0.label == label && matches($0.dimensions) }.reduce(0) { $0 + $1.counter.value }
        }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let counter = RecordingCounter()
        counters.withLock { $0.append((label, dimensions, counter)) }
        return counter
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        NOOPMetricsHandler.instance
    }

    private let recorders = Mutex<[(label: String, dimensions: [(String, String)], recorder: RecordingGauge)]>([])

    func gauges(_ label: String, where matches: ([(String, String)]) -> Bool) -> [(dimensions: [(String, String)], value: Double)] {
        recorders.withLock { entries in
            entries.filter { $0.label == label && matches($0.dimensions) && !$0.recorder.isDestroyed }.compactMap { entry in
                entry.recorder.value.map { (entry.dimensions, $0) }
            }
        }
    }

    func gaugeMaxima(_ label: String, where matches: ([(String, String)]) -> Bool) -> [(dimensions: [(String, String)], maximum: Double)] {
        recorders.withLock { entries in
            entries.filter { $0.label == label && matches($0.dimensions) }.compactMap { entry in entry.recorder.maximum.map { (entry.dimensions, $0) } }
        }
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        let recorder = RecordingGauge()
        recorders.withLock { $0.append((label, dimensions, recorder)) }
        return recorder
    }

    private let timers = Mutex<[(label: String, dimensions: [(String, String)], timer: RecordingTimer)]>([])

    func timings(_ label: String, where matches: ([(String, String)]) -> Bool) -> Int64 {
        timers.withLock { entries in
            entries.filter { $0.label == label && matches($0.dimensions) }.reduce(0) { $0 + $1.timer.count }
        }
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let timer = RecordingTimer()
        timers.withLock { $0.append((label, dimensions, timer)) }
        return timer
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) { (handler as? RecordingGauge)?.destroy() }
    func destroyTimer(_ handler: any TimerHandler) {}
}

final class RecordingCounter: CounterHandler, Sendable {
    private let total = Atomic<Int64>(0)
    var value: Int64 { total.load(ordering: .acquiring) }
    func increment(by amount: Int64) { total.add(amount, ordering: .acquiringAndReleasing) }
    func reset() { total.store(0, ordering: .releasing) }
}

/// A gauge that keeps its last and its largest value, and whether it was destroyed.
final class RecordingGauge: RecorderHandler, Sendable {
    private let state = Mutex<(value: Double?, maximum: Double?, destroyed: Bool)>((nil, nil, false))
    var value: Double? { state.withLock { $0.value } }
    var maximum: Double? { state.withLock { $0.maximum } }
    var isDestroyed: Bool { state.withLock { $0.destroyed } }
    func record(_ value: Int64) { record(Double(value)) }
    func record(_ value: Double) {
        state.withLock {
            $0.value = value
            $0.maximum = max($0.maximum ?? value, value)
        }
    }
    func destroy() { state.withLock { $0.destroyed = true } }
}

/// A timer that counts its recordings.
final class RecordingTimer: TimerHandler, Sendable {
    private let recorded = Atomic<Int64>(0)
    var count: Int64 { recorded.load(ordering: .acquiring) }
    func recordNanoseconds(_ duration: Int64) { recorded.add(1, ordering: .acquiringAndReleasing) }
}
