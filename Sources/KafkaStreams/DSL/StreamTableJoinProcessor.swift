/// Joins each stream record with the table's current value for its key (Kafka Streams'
/// `KStreamKTableJoin`): only stream records trigger; an inner join sends nothing while
/// the table has no row for the key, a left join sends `joiner(value, nil)`. The result
/// keeps the stream record's key, time and headers.
///
/// A record with a null value is skipped and counted (nothing to join); so is one with a
/// null key in an inner join, while a left join joins it with `nil` (KIP-962).
@usableFromInline
final class StreamTableJoinProcessor<Key, Value, TableValue, Output>: Processor {
    @usableFromInline typealias Joiner = @Sendable (Key, Value, TableValue?) throws -> Output

    @usableFromInline let context: ProcessorContext<Key, Output>
    @usableFromInline let lookup: (Key) throws -> TableLookup<TableValue>
    @usableFromInline let joiner: Joiner
    @usableFromInline let leftJoin: Bool
    /// Whether a stream value can be null at all (an optional type): only then is each
    /// value checked.
    @usableFromInline let valuesMayBeNull: Bool

    @inlinable
    init(context: ProcessorContext<Key, Output>, table: TableValueGetter<Key, TableValue>, leftJoin: Bool, joiner: @escaping Joiner) throws {
        self.context = context
        self.lookup = try table.make(context.task)
        self.leftJoin = leftJoin
        self.joiner = joiner
        valuesMayBeNull = Value.self is any NullableValue.Type
    }

    @inlinable
    func process(_ record: Record<Key, Value>) throws {
        if valuesMayBeNull, (record.value as? any NullableValue)?.isNull == true {
            context.skipUnjoinable(reason: "a null value has nothing to join")
            return
        }
        switch try lookup(record.key) {
        case .nullKey:
            guard leftJoin else {
                context.skipUnjoinable(reason: "a null key matches no table row")
                return
            }
            try context.forward(record.withValue(try joiner(record.key, record.value, nil)))
        case .found(let tableValue, _):
            guard leftJoin || tableValue != nil else { return }
            try context.forward(record.withValue(try joiner(record.key, record.value, tableValue)))
        }
    }
}

/// A value that may be null: an optional.
@usableFromInline
protocol NullableValue {
    var isNull: Bool { get }
}

extension Optional: NullableValue {
    @usableFromInline var isNull: Bool { self == nil }
}

extension ProcessorContext {
    /// Logs and counts a record a join skips (Kafka Streams' dropped-records metric).
    @usableFromInline
    func skipUnjoinable(reason: String) {
        logger.warning("skipping a record a join cannot use: \(reason)", metadata: ["node": "\(nodeName)"])
        task.counters.skipped += 1
    }
}
