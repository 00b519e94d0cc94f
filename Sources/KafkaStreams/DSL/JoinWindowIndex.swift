import DequeModule

/// The records one side of a stream–stream join keeps, in memory, by key and time: what
/// its window store holds within the join's reach, so that a record finds its partners
/// with one dictionary lookup rather than a store scan (a RocksDB iterator, merged with
/// the writes not yet committed) per record.
///
/// The store stays the record of truth: the index is built from it when the task starts
/// (after a restore), changes with it, and is dropped with the task, so under exactly-once
/// an aborted transaction's records leave both. It holds at most the join's reach of
/// input (`before + after + grace` of event time per side), already decoded.
@usableFromInline
final class JoinWindowIndex<Value> {
    @usableFromInline
    struct Entry {
        @usableFromInline let time: Int64
        @usableFromInline var values: [Value]

        @usableFromInline
        init(time: Int64, values: [Value]) {
            self.time = time
            self.values = values
        }
    }

    /// Each key's records in time order.
    @usableFromInline var entries: [StoreKeyBytes: [Entry]] = [:]
    /// The keys and times of the records in the order they came: what to drop first as
    /// the cutoff moves (mostly in time order; a record that came out of order goes when
    /// those before it have).
    @usableFromInline var arrivals = Deque<(time: Int64, key: StoreKeyBytes)>()

    @usableFromInline
    init() {}

    /// `key`'s records with a time in `lower...upper`, in time order (arrival order at
    /// equal times).
    @inlinable
    func records(of key: [UInt8], from lower: Int64, through upper: Int64) -> ArraySlice<Entry> {
        guard lower <= upper, let list = entries[StoreKeyBytes(key)] else { return [] }
        let first = Self.firstIndex(notBefore: lower, in: list)
        var end = first
        while end < list.count && list[end].time <= upper { end += 1 }
        return list[first..<end]
    }

    /// Adds a record; returns every record of its key and time, the new one last.
    @inlinable
    func insert(_ value: Value, key: [UInt8], time: Int64) -> [Value] {
        let storeKey = StoreKeyBytes(key)
        arrivals.append((time, storeKey))
        guard let slot = entries.index(forKey: storeKey) else {
            entries[storeKey] = [Entry(time: time, values: [value])]
            return [value]
        }
        // In place, through the table's storage: no copy of the key's list.
        let index = Self.firstIndex(notBefore: time, in: entries.values[slot])
        if index < entries.values[slot].count && entries.values[slot][index].time == time {
            entries.values[slot][index].values.append(value)
            return entries.values[slot][index].values
        }
        if index == entries.values[slot].count {
            entries.values[slot].append(Entry(time: time, values: [value]))
        } else {
            entries.values[slot].insert(Entry(time: time, values: [value]), at: index)
        }
        return [value]
    }

    /// Drops `key`'s records at `time`.
    @usableFromInline
    func remove(key: [UInt8], time: Int64) {
        let storeKey = StoreKeyBytes(key)
        guard var list = entries[storeKey] else { return }
        list.removeAll { $0.time == time }
        entries[storeKey] = list.isEmpty ? nil : list
    }

    /// Drops the records older than `cutoff`, oldest arrivals first.
    @inlinable
    func drop(before cutoff: Int64) {
        while let first = arrivals.first, first.time < cutoff {
            arrivals.removeFirst()
            guard let index = entries.index(forKey: first.key) else { continue }
            // In place: the key's list is small, and copying it per record would cost more.
            let expired = entries.values[index].prefix { $0.time < cutoff }.count
            if expired == entries.values[index].count {
                entries.remove(at: index)
            } else if expired > 0 {
                entries.values[index].removeFirst(expired)
            }
        }
    }

    @inlinable
    static func firstIndex(notBefore time: Int64, in list: [Entry]) -> Int {
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].time < time { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
