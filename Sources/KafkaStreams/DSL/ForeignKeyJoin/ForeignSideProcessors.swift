/// The foreign side of a foreign-key join, where subscriptions arrive (Kafka Streams'
/// `SubscriptionReceiveProcessorSupplier` and `SubscriptionJoinProcessorSupplier`): keeps
/// each left row's subscription in a store keyed by foreign key then primary key, and
/// answers it with the foreign row's current value, through the response topic keyed by
/// the left row's key. An answer is stamped with the later of the subscription's time and
/// the foreign row's.
final class SubscriptionStoreProcessor<ForeignKey, ForeignValue>: Processor {
    let context: ProcessorContext<[UInt8], SubscriptionResponse>
    let subscriptions: TypedKeyValueStore<[UInt8], [UInt8]>
    let lookup: (ForeignKey) throws -> TableLookup<ForeignValue>
    let foreignKeySerde: AnySerde<ForeignKey>
    let foreignValueSerde: AnySerde<ForeignValue>

    init(
        context: ProcessorContext<[UInt8], SubscriptionResponse>, storeName: String, foreignTable: TableValueGetter<ForeignKey, ForeignValue>,
        foreignKeySerde: AnySerde<ForeignKey>?, foreignValueSerde: AnySerde<ForeignValue>?
    ) throws {
        self.context = context
        subscriptions = try context.typedStore(named: storeName)
        lookup = try foreignTable.make(context.task)
        let defaults = context.task.defaultSerdes
        self.foreignKeySerde = try defaults.resolve(foreignKeySerde, key: true, node: context.nodeName)
        self.foreignValueSerde = try defaults.resolve(foreignValueSerde, key: false, node: context.nodeName)
    }

    func process(_ record: Record<ForeignKey?, Subscription>) throws {
        let subscription = record.value
        guard let foreignKey = record.key, let foreignKeyBytes = try foreignKeySerde.serialize(foreignKey) else {
            // A left join's row without foreign key: no foreign row, but an answer.
            guard subscription.instruction == .subscribeAndRespond else {
                context.skipUnjoinable(reason: "a subscription to a null foreign key")
                return
            }
            try respond(to: record, with: nil, timestamp: record.timestamp)
            return
        }
        let storeKey = SubscriptionStoreKey.key(foreignKey: foreignKeyBytes, primaryKey: subscription.primaryKey)
        switch subscription.instruction {
        case .unsubscribe, .unsubscribeAndRespond:
            try subscriptions.put(storeKey, nil)
        case .subscribeAndRespond, .subscribeAndRespondIfFound:
            try subscriptions.put(storeKey, StoredSubscription(subscription).bytes)
        }
        var foreignValue: ForeignValue?
        var timestamp = record.timestamp
        if case .found(let value, let foreignTime) = try lookup(foreignKey), let value {
            foreignValue = value
            timestamp = max(timestamp, foreignTime)
        }
        switch subscription.instruction {
        case .unsubscribe: return
        case .unsubscribeAndRespond: try respond(to: record, with: nil, timestamp: timestamp)
        case .subscribeAndRespond: try respond(to: record, with: foreignValue, timestamp: timestamp)
        case .subscribeAndRespondIfFound: if foreignValue != nil { try respond(to: record, with: foreignValue, timestamp: timestamp) }
        }
    }

    private func respond(to record: Record<ForeignKey?, Subscription>, with foreignValue: ForeignValue?, timestamp: Int64) throws {
        let response = SubscriptionResponse(
            valueHash: record.value.valueHash, foreignValue: try foreignValue.flatMap { try foreignValueSerde.serialize($0) },
            primaryPartition: record.value.primaryPartition)
        try context.forward(Record(key: record.value.primaryKey, value: response, timestamp: timestamp, headers: record.headers))
    }
}

/// The foreign side of a foreign-key join, where the foreign table's changes arrive (Kafka
/// Streams' `ForeignTableJoinProcessorSupplier`): a change of a foreign row answers every
/// subscription to its key with the new value (none when deleted), stamped with the
/// change's time.
final class ForeignTableChangeProcessor<ForeignKey, ForeignValue>: Processor {
    let context: ProcessorContext<[UInt8], SubscriptionResponse>
    let subscriptions: TypedKeyValueStore<[UInt8], [UInt8]>
    let foreignKeySerde: AnySerde<ForeignKey>
    let foreignValueSerde: AnySerde<ForeignValue>

    init(
        context: ProcessorContext<[UInt8], SubscriptionResponse>, storeName: String,
        foreignKeySerde: AnySerde<ForeignKey>?, foreignValueSerde: AnySerde<ForeignValue>?
    ) throws {
        self.context = context
        subscriptions = try context.typedStore(named: storeName)
        let defaults = context.task.defaultSerdes
        self.foreignKeySerde = try defaults.resolve(foreignKeySerde, key: true, node: context.nodeName)
        self.foreignValueSerde = try defaults.resolve(foreignValueSerde, key: false, node: context.nodeName)
    }

    func process(_ record: Record<ForeignKey, Change<ForeignValue>>) throws {
        guard let foreignKey = try foreignKeySerde.serialize(record.key) else {
            context.skipUnjoinable(reason: "a foreign row with a null key has no subscribers")
            return
        }
        let prefix = SubscriptionStoreKey.prefix(foreignKey: foreignKey)
        let foreignValue = try record.value.newValue.flatMap { try foreignValueSerde.serialize($0) }
        for (key, stored) in try subscriptions.prefixScan(prefix) {
            let subscriber = try StoredSubscription(stored)
            try context.forward(Record(
                key: SubscriptionStoreKey.primaryKey(of: key, prefix: prefix),
                value: SubscriptionResponse(valueHash: subscriber.valueHash, foreignValue: foreignValue, primaryPartition: subscriber.primaryPartition),
                timestamp: record.timestamp, headers: record.headers))
        }
    }
}

/// What the subscription store keeps of a subscription, to answer it when the foreign row
/// changes: the partition the answer goes to (i32 big endian), then the value hash, if any.
struct StoredSubscription {
    let primaryPartition: Int32
    let valueHash: Murmur3Hash128?

    init(_ subscription: Subscription) {
        primaryPartition = subscription.primaryPartition
        valueHash = subscription.valueHash
    }

    init(_ bytes: [UInt8]) throws {
        (primaryPartition, valueHash) = try bytes.withUnsafeBytes { bytes in
            (try SubscriptionFormat.readPartition(bytes, at: 0), bytes.count > 4 ? try SubscriptionFormat.readHash(bytes, at: 4) : nil)
        }
    }

    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        SubscriptionFormat.append(primaryPartition, to: &bytes)
        if let valueHash { SubscriptionFormat.append(valueHash, to: &bytes) }
        return bytes
    }
}
