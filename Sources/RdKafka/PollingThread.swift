import Foundation
import Synchronization

/// Runs `body` over and over on a thread of its own until ``stop()`` is called; used to
/// serve librdkafka's callbacks (delivery reports, errors) for clients that the
/// application does not poll itself.
final class PollingThread: Sendable {
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, body: @escaping @Sendable () -> Void) {
        startThread(named: name) { [self] in
            while self.running.load(ordering: .acquiring) { body() }
            self.finished.signal()
        }
    }

    /// Stops the loop and waits for the current turn to end.
    func stop() {
        if running.exchange(false, ordering: .acquiringAndReleasing) {
            finished.wait()
        }
    }
}
