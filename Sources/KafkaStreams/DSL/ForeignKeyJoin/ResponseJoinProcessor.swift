/// The end of a foreign-key join, back on the left side (Kafka Streams'
/// `ResponseJoinProcessorSupplier`): an answer from the foreign side joins the left row's
/// current value with the foreign value it carries, unless the row has changed since it
/// subscribed (its value's hash no longer matches): then a newer answer is on its way, and
/// this one is dropped. Sends the result row, or its deletion (`nil`), stamped with the
/// answer's time.
final class ResponseJoinProcessor<Key, Value, ForeignValue, Output>: Processor {
    let context: ProcessorContext<Key, Output?>
    let lookup: (Key) throws -> TableLookup<Value>
    let valueSerde: AnySerde<Value>
    let foreignValueSerde: AnySerde<ForeignValue>
    let leftJoin: Bool
    let joiner: @Sendable (Value, ForeignValue?) throws -> Output

    init(
        context: ProcessorContext<Key, Output?>, table: TableValueGetter<Key, Value>, valueSerde: AnySerde<Value>?,
        foreignValueSerde: AnySerde<ForeignValue>?, leftJoin: Bool, joiner: @escaping @Sendable (Value, ForeignValue?) throws -> Output
    ) throws {
        self.context = context
        lookup = try table.make(context.task)
        let defaults = context.task.defaultSerdes
        self.valueSerde = try defaults.resolve(valueSerde, key: false, node: context.nodeName)
        self.foreignValueSerde = try defaults.resolve(foreignValueSerde, key: false, node: context.nodeName)
        self.leftJoin = leftJoin
        self.joiner = joiner
    }

    func process(_ record: Record<Key, SubscriptionResponse>) throws {
        guard case .found(let current, _) = try lookup(record.key) else {
            context.skipUnjoinable(reason: "a null key has no row to join")
            return
        }
        let currentHash = try current.flatMap { try valueSerde.serialize($0) }.map { Murmur3Hash128(hashing: $0) }
        guard currentHash == record.value.valueHash else {
            context.logger.debug("dropping a stale foreign-key join answer: its row changed since", metadata: ["node": "\(context.nodeName)"])
            context.task.counters.skipped += 1
            return
        }
        let foreign = try record.value.foreignValue.map { bytes in try bytes.withUnsafeBytes { try foreignValueSerde.decode($0) } }
        let result: Output?
        if let current, foreign != nil || leftJoin {
            result = try joiner(current, foreign)
        } else {
            result = nil
        }
        try context.forward(record.withValue(result))
    }
}
