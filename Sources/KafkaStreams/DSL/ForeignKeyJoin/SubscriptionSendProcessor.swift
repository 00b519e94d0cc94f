/// The left side of a foreign-key join (Kafka Streams' `SubscriptionSendProcessorSupplier`):
/// each change of a left row subscribes the row to its foreign key and unsubscribes it from
/// the one it had, through the subscription topic (keyed by foreign key, so each reaches the
/// task holding that key's foreign row).
///
/// Every subscription carries the hash of the row's new value: the answer comes back with
/// it, and is dropped if the row has changed since.
final class SubscriptionSendProcessor<Key, Value, ForeignKey>: Processor {
    let context: ProcessorContext<ForeignKey?, Subscription>
    let foreignKey: @Sendable (Key, Value) throws -> ForeignKey?
    let leftJoin: Bool
    let keySerde: AnySerde<Key>
    let valueSerde: AnySerde<Value>
    let foreignKeySerde: AnySerde<ForeignKey>

    init(
        context: ProcessorContext<ForeignKey?, Subscription>, foreignKey: @escaping @Sendable (Key, Value) throws -> ForeignKey?, leftJoin: Bool,
        keySerde: AnySerde<Key>?, valueSerde: AnySerde<Value>?, foreignKeySerde: AnySerde<ForeignKey>?
    ) throws {
        self.context = context
        self.foreignKey = foreignKey
        self.leftJoin = leftJoin
        let defaults = context.task.defaultSerdes
        self.keySerde = try defaults.resolve(keySerde, key: true, node: context.nodeName)
        self.valueSerde = try defaults.resolve(valueSerde, key: false, node: context.nodeName)
        self.foreignKeySerde = try defaults.resolve(foreignKeySerde, key: true, node: context.nodeName)
    }

    func process(_ record: Record<Key, Change<Value>>) throws {
        let (oldValue, newValue) = (record.value.oldValue, record.value.newValue)
        // Deleting a row that did not exist changes no result.
        if oldValue == nil && newValue == nil { return }
        guard let primaryKey = try keySerde.serialize(record.key) else {
            context.skipUnjoinable(reason: "a null key has no row to join")
            return
        }
        let oldForeignKey = try oldValue.flatMap { try foreignKey(record.key, $0) }
        let newForeignKey = try newValue.flatMap { try foreignKey(record.key, $0) }
        let valueHash = try newValue.flatMap { try valueSerde.serialize($0) }.map { Murmur3Hash128(hashing: $0) }
        func send(_ foreignKey: ForeignKey?, _ instruction: SubscriptionInstruction) throws {
            let subscription = Subscription(
                instruction: instruction, valueHash: valueHash, primaryKey: primaryKey, primaryPartition: context.task.id.partition)
            try context.forward(record.withKey(foreignKey).withValue(subscription))
        }
        let foreignKeyChanged = try serialized(oldForeignKey) != serialized(newForeignKey)

        if leftJoin {
            // The old foreign key's side is told to forget the row; the new one always
            // answers, so the row's result is updated whether it joins or not. A row
            // without foreign key (or deleted) subscribes to the null key: nothing is
            // kept there, but the answer, with no foreign row, comes back all the same.
            if let oldForeignKey, foreignKeyChanged { try send(oldForeignKey, .unsubscribe) }
            try send(newForeignKey, .subscribeAndRespond)
            return
        }
        guard newValue != nil else {
            // Deleted: the old foreign key's side answers with a deletion of the result.
            if let oldForeignKey { try send(oldForeignKey, .unsubscribeAndRespond) }
            return
        }
        guard let newForeignKey else {
            context.skipUnjoinable(reason: "a row without foreign key joins nothing")
            if let oldForeignKey { try send(oldForeignKey, .unsubscribeAndRespond) }
            return
        }
        if let oldForeignKey, foreignKeyChanged {
            // The new foreign key's side answers even without a row, to delete the
            // result the old one may have given.
            try send(oldForeignKey, .unsubscribe)
            try send(newForeignKey, .subscribeAndRespond)
        } else {
            // A new row, or the same foreign key: without a foreign row there was no
            // result before and there is none now.
            try send(newForeignKey, .subscribeAndRespondIfFound)
        }
    }

    private func serialized(_ key: ForeignKey?) throws -> [UInt8]? {
        try key.flatMap { try foreignKeySerde.serialize($0) }
    }
}
