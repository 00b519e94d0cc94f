import Metrics

/// The punctuations of one task, in the order they were scheduled.
final class PunctuationSchedule {
    private struct Entry {
        let type: PunctuationType
        let intervalMilliseconds: Int64
        var next: Int64
        let node: String
        let handle: Cancellable
        let body: (Int64) throws -> Void
    }

    private var entries: [Entry] = []
    /// Times each punctuation that fires (`kafka_streams_punctuate_latency`); checking for
    /// due ones, once per record for stream time, is not timed.
    var latency: Timer?

    var isEmpty: Bool { entries.isEmpty }

    func contains(_ type: PunctuationType) -> Bool { entries.contains { $0.type == type && !$0.handle.isCancelled } }

    /// Stream-time schedules are aligned to multiples of the interval (the first fires as
    /// soon as stream time is known); wall-clock ones to `start` plus multiples of it, as
    /// in Kafka Streams.
    func schedule(
        every interval: Duration, type: PunctuationType, node: String, start: Int64, _ body: @escaping (Int64) throws -> Void
    ) -> Cancellable {
        let handle = Cancellable()
        let milliseconds = max(1, interval.wholeMilliseconds)
        let next = type == .streamTime ? 0 : start + milliseconds
        entries.append(Entry(type: type, intervalMilliseconds: milliseconds, next: next, node: node, handle: handle, body: body))
        return handle
    }

    /// Runs every due punctuation of `type` once, with `time` (the current stream or
    /// wall-clock time); a schedule's next time stays on its grid, skipping the times that
    /// `time` has already passed, so a gap in the data or a stall fires one punctuation,
    /// not one per missed interval, and never makes the schedule drift. Errors carry the
    /// node whose punctuator threw.
    func fire(_ type: PunctuationType, at time: Int64) throws {
        guard !entries.isEmpty, time >= 0 else { return }
        entries.removeAll { $0.handle.isCancelled }
        for index in entries.indices where entries[index].type == type {
            let due = entries[index].next
            guard time >= due else { continue }
            let interval = entries[index].intervalMilliseconds
            entries[index].next = due + ((time - due) / interval + 1) * interval
            if entries[index].handle.isCancelled { continue }
            let started = ContinuousClock.now
            defer { latency?.record(since: started) }
            do {
                try entries[index].body(time)
            } catch {
                throw NodeFailure(node: entries[index].node, underlying: error)
            }
        }
    }
}
