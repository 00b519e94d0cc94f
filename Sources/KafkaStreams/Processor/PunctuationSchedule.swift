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

    var isEmpty: Bool { entries.isEmpty }

    func contains(_ type: PunctuationType) -> Bool { entries.contains { $0.type == type && !$0.handle.isCancelled } }

    func schedule(
        every interval: Duration, type: PunctuationType, node: String, start: Int64, _ body: @escaping (Int64) throws -> Void
    ) -> Cancellable {
        let handle = Cancellable()
        let milliseconds = max(1, interval.wholeMilliseconds)
        // A stream-time schedule starts when stream time is first known.
        let next = start < 0 ? Int64.min : start + milliseconds
        entries.append(Entry(type: type, intervalMilliseconds: milliseconds, next: next, node: node, handle: handle, body: body))
        return handle
    }

    /// Runs every due punctuation of `type`; `time` is the current stream or wall-clock time.
    /// Errors carry the node whose punctuator threw.
    func fire(_ type: PunctuationType, at time: Int64) throws {
        guard !entries.isEmpty, time >= 0 else { return }
        entries.removeAll { $0.handle.isCancelled }
        for index in entries.indices where entries[index].type == type {
            if entries[index].next == Int64.min {
                entries[index].next = time + entries[index].intervalMilliseconds
                continue
            }
            guard time >= entries[index].next else { continue }
            entries[index].next = time + entries[index].intervalMilliseconds
            if entries[index].handle.isCancelled { continue }
            do {
                try entries[index].body(time)
            } catch {
                throw NodeFailure(node: entries[index].node, underlying: error)
            }
        }
    }
}
