import KafkaStreams
import KafkaStreamsTesting
import Synchronization

/// Failures a topology's processors throw at random (from a seed, so a run replays), as a
/// bug meeting rare data would: the application stops under the `.fail` handler, and a
/// restart processes the record again, this time without the failure.
public final class ProcessingFailures: Sendable {
    /// What the processors throw.
    public struct Injected: Error, CustomStringConvertible {
        public var description: String { "injected processing failure" }
    }

    private struct State {
        var random: SeededRandom
        var remaining: Int
        var thrown = 0
    }

    private let probability: Double
    private let state: Mutex<State>

    /// - Parameters:
    ///   - probability: the chance that one call of ``failByChance()`` throws.
    ///   - maxFailures: at most this many throws, so that a run ends.
    public init(seed: UInt64, probability: Double, maxFailures: Int) {
        self.probability = probability
        state = Mutex(State(random: SeededRandom(seed: seed ^ 0xFA11), remaining: maxFailures))
    }

    /// Throws ``Injected`` with the configured chance.
    public func failByChance() throws {
        let fails = state.withLock { state in
            guard state.remaining > 0, state.random.chance(probability) else { return false }
            state.remaining -= 1
            state.thrown += 1
            return true
        }
        if fails { throw Injected() }
    }

    /// Failures thrown so far.
    public var thrown: Int { state.withLock { $0.thrown } }

    /// Whether an application stopped on an injected failure (found through the errors
    /// that wrap it).
    public static func isInjected(_ error: any Error) -> Bool {
        switch error {
        case is Injected: true
        case let error as ProcessingError: isInjected(error.underlying)
        case let error as StreamsError: error.underlying.map(isInjected) ?? false
        default: false
        }
    }
}
