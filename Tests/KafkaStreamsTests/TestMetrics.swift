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

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        NOOPMetricsHandler.instance
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

final class RecordingCounter: CounterHandler, Sendable {
    private let total = Atomic<Int64>(0)
    var value: Int64 { total.load(ordering: .acquiring) }
    func increment(by amount: Int64) { total.add(amount, ordering: .acquiringAndReleasing) }
    func reset() { total.store(0, ordering: .releasing) }
}
