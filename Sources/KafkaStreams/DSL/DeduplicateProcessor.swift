/// Passes a record on unless a record with the same id was passed on within `within` of its
/// time (before or after it, in event time); a repeat is dropped and counted. Each id
/// passed on is kept in a window store at its record's time, for the retention (twice
/// `within`), so the state is bounded by the ids of that span, not every id ever seen.
///
/// A record further behind stream time than `within` is checked against what the store
/// still keeps, and passed on if no match is found (a repeat that late may pass; nothing
/// is dropped for being late). It is not kept: its time has left the store already.
@usableFromInline
final class DeduplicateProcessor<Key, Value, ID>: Processor {
    @usableFromInline typealias Selector = @Sendable (Key, Value) throws -> ID?

    @usableFromInline let context: ProcessorContext<Key, Value>
    @usableFromInline let store: TypedWindowStore<ID, Int64>
    @usableFromInline let within: Int64
    @usableFromInline let selector: Selector
    /// The largest record time seen (since the task started: expiry only needs a bound).
    @usableFromInline var streamTime = Int64.min

    @inlinable
    init(context: ProcessorContext<Key, Value>, storeName: String, within: Int64, selector: @escaping Selector) throws {
        self.context = context
        store = try context.windowStore(named: storeName)
        self.within = within
        self.selector = selector
    }

    @inlinable
    func process(_ record: Record<Key, Value>) throws {
        // No id, nothing to compare: passed on.
        guard let id = try selector(record.key, record.value), let idBytes = try store.recordKeyBytes(id) else {
            try context.forward(record)
            return
        }
        let time = record.timestamp
        if try !store.fetch(keyBytes: idBytes, from: time - within, through: time + within).isEmpty {
            context.countDroppedDuplicate()
            return
        }
        streamTime = max(streamTime, time)
        if time >= streamTime - store.retention {
            try store.write(store.prepareWrite(idBytes, start: time), time, timestamp: time, headers: record.headers)
        }
        try context.forward(record)
        try store.expireWindows(before: streamTime - store.retention)
    }
}

extension ProcessorContext {
    /// Logs and counts a record dropped as a repeat.
    @usableFromInline
    func countDroppedDuplicate() {
        logger.debug("dropping a repeated record", metadata: ["node": "\(nodeName)"])
        task.counters.droppedDuplicates += 1
    }
}
