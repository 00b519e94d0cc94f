/// One side of a table–table join (Kafka Streams' `KTableKTableInnerJoin`, `...LeftJoin`,
/// `...RightJoin`, `...OuterJoin`): an update of this table's row looks up the other
/// table's row for the key and sends the joined row's change, stamped with the later of
/// the two rows' times. A side is outer when its rows appear in the result without a
/// partner (the left of a left join, both of an outer join).
///
/// A deletion sends the joined row's deletion; with old values asked for, the change also
/// carries the joined row it replaces. Nothing is sent while neither the old nor the new
/// joined row exists.
@usableFromInline
final class TableTableJoinProcessor<Key, This, Other, Output>: Processor {
    /// The joiner with this side's value first (the right side's swaps them back).
    @usableFromInline typealias Joiner = @Sendable (Key, This?, Other?) throws -> Output

    @usableFromInline let context: ProcessorContext<Key, Change<Output>>
    @usableFromInline let lookup: (Key) throws -> TableLookup<Other>
    @usableFromInline let thisIsOuter: Bool
    @usableFromInline let otherIsOuter: Bool
    @usableFromInline let joiner: Joiner

    @inlinable
    init(
        context: ProcessorContext<Key, Change<Output>>, other: TableValueGetter<Key, Other>, outer: (this: Bool, other: Bool),
        joiner: @escaping Joiner
    ) throws {
        self.context = context
        lookup = try other.make(context.task)
        (thisIsOuter, otherIsOuter) = outer
        self.joiner = joiner
    }

    @inlinable
    func process(_ record: Record<Key, Change<This>>) throws {
        guard case .found(let other, let otherTime) = try lookup(record.key) else {
            context.skipUnjoinable(reason: "a null key has no row")
            return
        }
        let change = record.value
        if other == nil && (!thisIsOuter || (change.newValue == nil && change.oldValue == nil)) { return }
        let newValue = try joined(record.key, change.newValue, other)
        let oldValue = context.sendsOldValues ? try joined(record.key, change.oldValue, other) : nil
        try context.forward(Record(
            key: record.key, value: Change(newValue: newValue, oldValue: oldValue), timestamp: max(record.timestamp, otherTime),
            headers: record.headers))
    }

    /// The joined row of this side's row `this` (if any) and the other side's `other`, if
    /// the join has one.
    @inlinable
    func joined(_ key: Key, _ this: This?, _ other: Other?) throws -> Output? {
        joinedRowExists(this: this != nil, other: other != nil, outer: (thisIsOuter, otherIsOuter)) ? try joiner(key, this, other) : nil
    }
}

/// Whether a table join has a row for a key, given which side has one: both, or one that
/// is outer (kept without partner).
@inlinable
func joinedRowExists(this: Bool, other: Bool, outer: (this: Bool, other: Bool)) -> Bool {
    this ? (other || outer.this) : (other && outer.other)
}
