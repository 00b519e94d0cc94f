import RdKafka
import Synchronization

/// What the producer acknowledged of one store's changelog partition: the highest offset,
/// and the first failure. Written by delivery callbacks on the producer's polling thread,
/// read by the stream thread after a flush.
@usableFromInline
final class ChangelogTracker: Sendable {
    private let highest = Atomic<Int64>(-1)
    private let firstFailure = Mutex<KafkaError?>(nil)

    func acknowledged(_ offset: Int64) {
        highest.max(offset, ordering: .acquiringAndReleasing)
    }

    func failed(_ error: KafkaError) {
        firstFailure.withLock { if $0 == nil { $0 = error } }
    }

    /// The highest acknowledged offset, or -1.
    var highestOffset: Int64 { highest.load(ordering: .acquiring) }

    var failure: KafkaError? { firstFailure.withLock { $0 } }
}
