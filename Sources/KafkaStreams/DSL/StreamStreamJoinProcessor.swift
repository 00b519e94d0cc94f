import HeapModule

/// Which input of a stream–stream join a record came from.
@usableFromInline
enum JoinSide: Sendable {
    case left, right

    /// The side's byte in a held record's key: at equal times right sorts before left, as
    /// in Kafka Streams' outer-join store.
    @usableFromInline var byte: UInt8 { self == .left ? 1 : 0 }
}

/// What the two sides of one join share within a task: the join's stream time (the largest
/// record time either side has seen), the largest time put into each side's store (which
/// bounds what that store still holds, as a Kafka Streams window store's observed time
/// does), and when the windows of held records close.
@usableFromInline
final class StreamJoinTime {
    @usableFromInline var streamTime: Int64 = -1
    @usableFromInline var observedLeft: Int64 = -1
    @usableFromInline var observedRight: Int64 = -1
    @usableFromInline var loaded = false
    /// The stream times past which a held record's window closes. Some may belong to
    /// records matched since (they cost one scan that finds nothing to send).
    @usableFromInline var heldDeadlines = Heap<Int64>()

    @usableFromInline init() {}

    @usableFromInline
    func observed(_ side: JoinSide) -> Int64 { side == .left ? observedLeft : observedRight }

    @usableFromInline
    func observe(_ time: Int64, on side: JoinSide) {
        if side == .left { observedLeft = max(observedLeft, time) } else { observedRight = max(observedRight, time) }
    }
}

/// One side of a stream–stream join (Kafka Streams' `KStreamKStreamJoin`, both sides wired
/// alike): each record of this side is kept in this side's window store, joined with every
/// record of the other side's store within its window (`joiner(this, other)` at the later of
/// the two times), and, on an outer side, held while it has no partner.
///
/// A held record is sent with `nil` for its partner once stream time passes its window's
/// end plus grace, in (time, side, key) order, before the record that moved stream time is
/// joined; a partner arriving before then takes it out. Driven by stream time alone: the
/// same input gives the same output.
///
/// A record that arrives after its own window closed still joins the partners the stores
/// hold, as in Kafka Streams (a store holds what a record that is not late may need:
/// `before + after + grace` behind the latest time put in it). Unlike Kafka Streams, it
/// never pairs with a partner already sent without one: a record sent without partner
/// leaves its side's store. Such a late record without partner is sent at once, and not
/// kept.
@usableFromInline
final class StreamStreamJoinProcessor<Key, This, Other, Output>: Processor {
    /// The joiner with this side's value first (the right side's swaps them back).
    @usableFromInline typealias Joiner = @Sendable (Key, This?, Other?) throws -> Output

    @usableFromInline let context: ProcessorContext<Key, Output>
    @usableFromInline let side: JoinSide
    @usableFromInline let otherSide: JoinSide
    @usableFromInline let windows: JoinWindows
    @usableFromInline let thisStore: TypedWindowStore<Key, JoinRecords<This>>
    @usableFromInline let otherStore: TypedWindowStore<Key, JoinRecords<Other>>
    /// The stores' records in memory, for lookups (see ``JoinWindowIndex``).
    @usableFromInline let thisIndex: JoinWindowIndex<This>
    @usableFromInline let otherIndex: JoinWindowIndex<Other>
    /// The records waiting for a partner, keyed `[time][side][key]` (left and outer joins).
    @usableFromInline let held: TypedKeyValueStore<[UInt8], [UInt8]>?
    @usableFromInline let thisIsOuter: Bool
    @usableFromInline let otherIsOuter: Bool
    @usableFromInline let joiner: Joiner
    @usableFromInline let time: StreamJoinTime
    @usableFromInline let nullValues = NullValueCheck<This>()

    @inlinable
    init(
        context: ProcessorContext<Key, Output>, name: String, side: JoinSide, windows: JoinWindows,
        stores: (this: String, other: String, held: String?), outer: (this: Bool, other: Bool), joiner: @escaping Joiner
    ) throws {
        self.context = context
        self.side = side
        otherSide = side == .left ? .right : .left
        self.windows = windows
        thisStore = try context.windowStore(named: stores.this)
        otherStore = try context.windowStore(named: stores.other)
        held = try stores.held.map { try context.typedStore(named: $0) }
        (thisIsOuter, otherIsOuter) = outer
        self.joiner = joiner
        time = context.task.sharedOperatorState(named: name) { StreamJoinTime() }
        thisIndex = context.task.sharedOperatorState(named: "\(name)#\(side)") { JoinWindowIndex() }
        otherIndex = context.task.sharedOperatorState(named: "\(name)#\(otherSide)") { JoinWindowIndex() }
    }

    /// How far before (`reach(.before)`) and after a record of `side` its partners may be.
    @inlinable
    func reach(of side: JoinSide) -> (before: Int64, after: Int64) {
        side == .left ? (windows.before, windows.after) : (windows.after, windows.before)
    }

    /// When the window of a record of `side` at `time` closes: stream time past this.
    @inlinable
    func closing(_ time: Int64, _ side: JoinSide) -> Int64 { time + reach(of: side).after + windows.grace }

    /// The earliest time a store whose latest put is `observed` still holds.
    @inlinable
    func firstRetained(_ observed: Int64) -> Int64 { observed - windows.before - windows.after - windows.grace }

    @inlinable
    func process(_ record: Record<Key, This>) throws {
        if !time.loaded { try loadTime() }
        let before = (time.streamTime, time.observed(side))
        try join(record)
        if (time.streamTime, time.observed(side)) != before { try noteTimes() }
    }

    @inlinable
    func join(_ record: Record<Key, This>) throws {
        // Stream time moves first, for every record, as in Kafka Streams.
        time.streamTime = max(time.streamTime, record.timestamp)
        let keyBytes = try thisStore.recordKeyBytes(record.key)
        let valueIsNull = nullValues.isNull(record.value)
        guard let keyBytes, !valueIsNull else {
            if !valueIsNull && thisIsOuter {
                // A null key has no partner to wait for (KIP-962).
                try context.forward(record.withValue(try joiner(record.key, record.value, nil)))
            } else {
                context.skipUnjoinable(reason: valueIsNull ? "a null value has nothing to join" : "a null key has no partner")
            }
            return
        }
        let timestamp = record.timestamp
        try emitClosedHeldRecords(headers: record.headers)
        time.observe(timestamp, on: side)

        let reach = reach(of: side)
        let from = max(timestamp - reach.before, firstRetained(time.observed(otherSide)))
        var matched = false
        for partner in otherIndex.records(of: keyBytes, from: from, through: timestamp + reach.after) {
            if otherIsOuter, let held, closing(partner.time, otherSide) >= time.streamTime {
                // It waits no more, if it was waiting.
                _ = try held.delete(Self.heldKey(time: partner.time, side: otherSide, key: keyBytes))
            }
            for value in partner.values {
                matched = true
                try context.forward(
                    record.withValue(try joiner(record.key, record.value, value)).withTimestamp(max(timestamp, partner.time)))
            }
        }
        if !matched && thisIsOuter && closing(timestamp, side) < time.streamTime {
            // Late, and no partner: sent at once, and not kept, so no later record pairs with it.
            try context.forward(record.withValue(try joiner(record.key, record.value, nil)))
            return
        }
        // A store keeps what a record that is not late may still need.
        if timestamp >= firstRetained(time.observed(side)) { try keep(record, keyBytes: keyBytes) }
        if !matched && thisIsOuter { try hold(record, keyBytes: keyBytes) }
    }

    /// Adds the record to this side's store and index, beside any of the same key and time.
    @inlinable
    func keep(_ record: Record<Key, This>, keyBytes: [UInt8]) throws {
        let values = thisIndex.insert(record.value, key: keyBytes, time: record.timestamp)
        try thisStore.write(thisStore.prepareWrite(keyBytes, start: record.timestamp), JoinRecords(values), timestamp: record.timestamp, headers: record.headers)
    }

    /// Holds a record without a partner until its window closes.
    @inlinable
    func hold(_ record: Record<Key, This>, keyBytes: [UInt8]) throws {
        guard let held else { return }
        let key = Self.heldKey(time: record.timestamp, side: side, key: keyBytes)
        var records = try held.get(key).map { try $0.withUnsafeBytes { try thisStore.valueSerde.decode($0) } } ?? JoinRecords([])
        records.values.append(record.value)
        var bytes: [UInt8] = []
        _ = try thisStore.valueSerde.encode(records, &bytes)
        try held.put(key, bytes)
        time.heldDeadlines.insert(closing(record.timestamp, side))
    }

    /// Sends, with `nil` for the partner, every held record whose window has closed, in
    /// (time, side, key) order, with the headers of the record that closed it (as Kafka
    /// Streams does). It leaves its side's store too: a late record must not pair with it.
    @inlinable
    func emitClosedHeldRecords(headers: [RecordHeader]) throws {
        guard let held, let earliest = time.heldDeadlines.min, earliest < time.streamTime else { return }
        // Only entries this old can need a look.
        let bound = time.streamTime - windows.grace - min(windows.before, windows.after)
        if bound > 0 {
            for (key, value) in try held.range(from: nil, to: Self.heldKeyPrefix(time: bound)) {
                guard let parsed = Self.parseHeldKey(key) else { continue }
                guard closing(parsed.time, parsed.side) < time.streamTime else { continue }
                let recordKey = try parsed.key.withUnsafeBytes { try thisStore.keySerde.decode($0) }
                if parsed.side == side {
                    for this in try value.withUnsafeBytes({ try thisStore.valueSerde.decode($0) }).values {
                        try context.forward(Record(key: recordKey, value: try joiner(recordKey, this, nil), timestamp: parsed.time, headers: headers))
                    }
                    try thisStore.remove(parsed.key, start: parsed.time)
                    thisIndex.remove(key: parsed.key, time: parsed.time)
                } else {
                    for other in try value.withUnsafeBytes({ try otherStore.valueSerde.decode($0) }).values {
                        try context.forward(Record(key: recordKey, value: try joiner(recordKey, nil, other), timestamp: parsed.time, headers: headers))
                    }
                    try otherStore.remove(parsed.key, start: parsed.time)
                    otherIndex.remove(key: parsed.key, time: parsed.time)
                }
                _ = try held.delete(key)
            }
        }
        while let first = time.heldDeadlines.min, first < time.streamTime { time.heldDeadlines.removeMin() }
    }

    /// The input has ended: every record still held for a partner (an outer join's) is sent
    /// with `nil` for it, the join's stream time moving just past the last of their windows.
    /// The other side's processor finds nothing left.
    @usableFromInline
    func finishInput() throws {
        guard held != nil else { return }
        if !time.loaded { try loadTime() }
        guard let last = time.heldDeadlines.max else { return }
        time.streamTime = max(time.streamTime, last + 1)
        try emitClosedHeldRecords(headers: [])
        try noteTimes()
    }

    /// Reads the join's times from the stores, indexes their records and, after a restart,
    /// notes the deadlines of the held entries.
    @usableFromInline
    func loadTime() throws {
        let thisState = try thisStore.loadOperatorState()
        let otherState = try otherStore.loadOperatorState()
        time.streamTime = max(thisState.lastEmitted, otherState.lastEmitted)
        time.observe(thisState.observedStreamTime, on: side)
        time.observe(otherState.observedStreamTime, on: otherSide)
        try Self.index(thisStore, into: thisIndex, from: firstRetained(time.observed(side)), through: time.observed(side))
        try Self.index(otherStore, into: otherIndex, from: firstRetained(time.observed(otherSide)), through: time.observed(otherSide))
        time.heldDeadlines = Heap()
        for (key, _) in try held?.all() ?? [] {
            guard let parsed = Self.parseHeldKey(key) else { continue }
            time.heldDeadlines.insert(closing(parsed.time, parsed.side))
        }
        time.loaded = true
    }

    /// Stages each store's latest put time (as its observed time) and the join's stream
    /// time (as its last emitted time: there is no other) for the next flush, and drops the
    /// segments of records no record can join any more.
    @inlinable
    func noteTimes() throws {
        thisStore.stageOperatorState(WindowedOperatorState(observedStreamTime: time.observed(side), lastEmitted: time.streamTime))
        otherStore.stageOperatorState(WindowedOperatorState(observedStreamTime: time.observed(otherSide), lastEmitted: time.streamTime))
        try thisStore.expireWindows(before: firstRetained(time.observed(side)))
        thisIndex.drop(before: firstRetained(time.observed(side)))
    }

    /// Fills `index` with what `store` holds from `lower` through `upper`.
    @usableFromInline
    static func index<Value>(_ store: TypedWindowStore<Key, JoinRecords<Value>>, into index: JoinWindowIndex<Value>, from lower: Int64, through upper: Int64) throws {
        for window in try store.windows(from: lower, through: upper) {
            for value in window.value.values { _ = index.insert(value, key: window.key, time: window.start) }
        }
    }

    /// `[time: i64 BE][side][key]`: held records in time order.
    @usableFromInline
    static func heldKey(time: Int64, side: JoinSide, key: [UInt8]) -> [UInt8] {
        var bytes = heldKeyPrefix(time: time)
        bytes.append(side.byte)
        bytes.append(contentsOf: key)
        return bytes
    }

    /// The bytes every held key of `time` starts with, and sorts after.
    @usableFromInline
    static func heldKeyPrefix(time: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        appendBigEndian(time, to: &bytes)
        return bytes
    }

    @usableFromInline
    static func parseHeldKey(_ bytes: [UInt8]) -> (time: Int64, side: JoinSide, key: [UInt8])? {
        guard bytes.count >= 9 else { return nil }
        let time = bytes.withUnsafeBytes { readBigEndian($0, at: 0) }
        return (time, bytes[8] == JoinSide.left.byte ? .left : .right, Array(bytes[9...]))
    }
}
