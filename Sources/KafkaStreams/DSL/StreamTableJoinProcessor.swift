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
    @usableFromInline let nullValues = NullValueCheck<Value>()

    @inlinable
    init(context: ProcessorContext<Key, Output>, table: TableValueGetter<Key, TableValue>, leftJoin: Bool, joiner: @escaping Joiner) throws {
        self.context = context
        self.lookup = try table.make(context.task)
        self.leftJoin = leftJoin
        self.joiner = joiner
    }

    @inlinable
    func process(_ record: Record<Key, Value>) throws {
        if nullValues.isNull(record.value) {
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

/// Tells a join's null values (an optional holding none), which it skips: a type that is
/// no optional is found out once, so its records cost no dynamic cast each.
@usableFromInline
struct NullValueCheck<Value> {
    @usableFromInline let valuesMayBeNull = Value.self is any NullableValue.Type

    @usableFromInline init() {}

    @inlinable
    func isNull(_ value: Value) -> Bool {
        valuesMayBeNull && (value as? any NullableValue)?.isNull == true
    }
}

extension ProcessorContext {
    /// Logs and counts a record a join skips (Kafka Streams' dropped-records metric).
    @usableFromInline
    func skipUnjoinable(reason: String) {
        logger.warning("skipping a record a join cannot use: \(reason)", metadata: ["node": "\(nodeName)"])
        task.counters.skipped += 1
    }
}
