import Synchronization

/// Whether an application's processing is paused (``StreamsApp/pause()``): set from any
/// thread, read by each stream thread before every poll.
final class ProcessingPause: Sendable {
    private let paused = Atomic<Bool>(false)

    var isPaused: Bool { paused.load(ordering: .acquiring) }

    func set(_ value: Bool) { paused.store(value, ordering: .releasing) }
}
