import Foundation
import Synchronization

/// A thread of our own that runs blocking librdkafka calls for `async` callers, so they
/// never block a thread of Swift's cooperative pool.
final class DedicatedThread: Sendable {
    private struct State: ~Copyable {
        var jobs: [@Sendable () -> Void] = []
        var stopped = false
    }

    private let condition = NSCondition()
    private nonisolated(unsafe) var state = State()  // guarded by `condition`

    init(name: String) {
        startThread(named: name) { [self] in self.loop() }
    }

    /// Runs `body` on the dedicated thread and returns its result.
    func run<T: Sendable>(_ body: @Sendable @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = enqueue { continuation.resume(with: Result { try body() }) }
            if !accepted {
                continuation.resume(
                    throwing: KafkaError(code: .destroyed, message: "the client was closed", classification: .permanent))
            }
        }
    }

    /// Ends the thread once the queued jobs have run.
    func stop() {
        condition.lock()
        state.stopped = true
        condition.signal()
        condition.unlock()
    }

    private func enqueue(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !state.stopped else { return false }
        state.jobs.append(job)
        condition.signal()
        return true
    }

    private func loop() {
        while true {
            condition.lock()
            while state.jobs.isEmpty && !state.stopped { condition.wait() }
            if state.jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = state.jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
