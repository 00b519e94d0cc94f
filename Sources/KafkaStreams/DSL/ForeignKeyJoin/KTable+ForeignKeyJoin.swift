extension KTable {
    /// Joins each row of this table with the row of `other` whose key the row names (a
    /// foreign-key join, inner): the result, keyed like this table, has a row
    /// `joiner(value, otherValue)` for each row whose `foreignKey(key, value)` has a row in
    /// `other`, updated when either row changes and deleted when either is or when the
    /// row's foreign key changes to one without a row (or to `nil`).
    ///
    /// The tables need not be co-partitioned: each row subscribes to its foreign key
    /// through the internal topic `<applicationId>-<name>-subscription-registration-topic`
    /// (as many partitions as `other`'s input), keyed by foreign key, where a store of
    /// `other`'s task keeps the subscriptions; answers come back through
    /// `<applicationId>-<name>-subscription-response-topic` (as many partitions as this
    /// table's input), to the partition the row came from. An answer for a row that has
    /// changed since is dropped (a hash of the row's value travels with it), so results
    /// never go back to an older value.
    ///
    /// The result is kept in a store (`materialized`, by default without record cache so
    /// every result is sent on, as in Kafka Streams), looked up and queried by key.
    /// `value` serializes its rows there.
    public func join<ForeignKey, ForeignValue, Output>(
        _ other: KTable<ForeignKey, ForeignValue>, named: String? = nil, foreignKey: @escaping @Sendable (Key, Value) throws -> ForeignKey?,
        materialized: Materialized? = nil, value: AnySerde<Output>? = nil, _ joiner: @escaping @Sendable (Value, ForeignValue) throws -> Output
    ) -> KTable<Key, Output> {
        joinForeignKey(other, named: named, foreignKey: foreignKey, leftJoin: false, materialized: materialized, value: value) { value, otherValue in
            try joiner(value, otherValue!)
        }
    }

    /// Joins each row of this table with the row of `other` whose key the row names,
    /// keeping every row of this table (a foreign-key left join): `joiner(value, nil)` while
    /// the foreign key has no row in `other`, or is `nil`. See
    /// ``join(_:named:foreignKey:materialized:value:_:)``.
    public func leftJoin<ForeignKey, ForeignValue, Output>(
        _ other: KTable<ForeignKey, ForeignValue>, named: String? = nil, foreignKey: @escaping @Sendable (Key, Value) throws -> ForeignKey?,
        materialized: Materialized? = nil, value: AnySerde<Output>? = nil, _ joiner: @escaping @Sendable (Value, ForeignValue?) throws -> Output
    ) -> KTable<Key, Output> {
        joinForeignKey(other, named: named, foreignKey: foreignKey, leftJoin: true, materialized: materialized, value: value, joiner)
    }

    private func joinForeignKey<ForeignKey, ForeignValue, Output>(
        _ other: KTable<ForeignKey, ForeignValue>, named: String?, foreignKey: @escaping @Sendable (Key, Value) throws -> ForeignKey?, leftJoin: Bool,
        materialized: Materialized?, value: AnySerde<Output>?, _ joiner: @escaping @Sendable (Value, ForeignValue?) throws -> Output
    ) -> KTable<Key, Output> {
        let names = ForeignKeyJoinNames(builder: builder, named: named)
        let (thisGetter, otherGetter) = (valueGetter, other.valueGetter)
        let (thisParent, otherParent) = (node, other.node)
        let (keySerde, valueSerde) = (self.keySerde, self.valueSerde)
        let (foreignKeySerde, foreignValueSerde) = (other.keySerde, other.valueSerde)
        let resultMaterialized = materialized ?? Materialized().withCachingDisabled()
        // The subscriptions live where the result does (persistent unless asked otherwise).
        var subscriptionStore = KeyValueStoreBuilder<[UInt8], [UInt8]>(
            name: names.subscriptionStore, kind: resultMaterialized.kind, keySerde: .bytes, valueSerde: .bytes)
        subscriptionStore.cachingEnabled = false
        let resultStoreName = resultMaterialized.storeName ?? builder.nodeName(nil, prefix: "KTABLE-FK-JOIN-OUTPUT-STATE-STORE-")
        let resultStore = resultMaterialized.builder(named: resultStoreName, key: keySerde, value: value, timestamped: true)
        // A subscription leaves the foreign key its row no longer names.
        builder.sendOldValues(from: thisParent)
        builder.record { topology in
            if let reason = thisGetter.unavailable ?? otherGetter.unavailable { throw StreamsError(.topology, "foreign-key join \(names.result): \(reason)") }
            // This table's side: subscriptions out.
            try topology.addProcessor(names.subscriptionSend, parents: [thisParent]) { (context: ProcessorContext<ForeignKey?, Subscription>) in
                try SubscriptionSendProcessor<Key, Value, ForeignKey>(
                    context: context, foreignKey: foreignKey, leftJoin: leftJoin, keySerde: keySerde, valueSerde: valueSerde,
                    foreignKeySerde: foreignKeySerde)
            }
            let optionalForeignKeySerde = foreignKeySerde.map { AnySerde<ForeignKey?>.optional($0) }
            topology.addInternalTopic(names.subscriptionTopic.description, partitions: .asReaderInput)
            try topology.addSink(
                names.subscriptionSink, target: .topic(names.subscriptionTopic), parents: [names.subscriptionSend], key: optionalForeignKeySerde,
                value: AnySerde(SubscriptionSerde()))
            // The foreign side: subscriptions kept and answered, foreign changes answered.
            try topology.addSource(
                names.subscriptionSource, topics: [names.subscriptionTopic], key: optionalForeignKeySerde, value: AnySerde(SubscriptionSerde()),
                timestamp: .recordTimestamp)
            try topology.addStateStore(subscriptionStore)
            try topology.addProcessor(
                names.subscriptionReceive, parents: [names.subscriptionSource], stores: [names.subscriptionStore] + otherGetter.storeNames
            ) { (context: ProcessorContext<[UInt8], SubscriptionResponse>) in
                try SubscriptionStoreProcessor<ForeignKey, ForeignValue>(
                    context: context, storeName: names.subscriptionStore, foreignTable: otherGetter, foreignKeySerde: foreignKeySerde,
                    foreignValueSerde: foreignValueSerde)
            }
            try topology.addProcessor(names.foreignChange, parents: [otherParent], stores: [names.subscriptionStore]) {
                (context: ProcessorContext<[UInt8], SubscriptionResponse>) in
                try ForeignTableChangeProcessor<ForeignKey, ForeignValue>(
                    context: context, storeName: names.subscriptionStore, foreignKeySerde: foreignKeySerde, foreignValueSerde: foreignValueSerde)
            }
            topology.addInternalTopic(names.responseTopic.description, partitions: .asReaderInput)
            try topology.addSink(
                names.responseSink, target: .topic(names.responseTopic), parents: [names.subscriptionReceive, names.foreignChange], key: AnySerde.bytes,
                value: AnySerde(SubscriptionResponseSerde()), partition: { _, response in response.primaryPartition })
            // Back on this table's side: answers joined with the rows they are for.
            try topology.addSource(
                names.responseSource, topics: [names.responseTopic], key: keySerde, value: AnySerde(SubscriptionResponseSerde()),
                timestamp: .recordTimestamp)
            try topology.addProcessor(names.responseJoin, parents: [names.responseSource], stores: thisGetter.storeNames) {
                (context: ProcessorContext<Key, Output?>) in
                try ResponseJoinProcessor<Key, Value, ForeignValue, Output>(
                    context: context, table: thisGetter, valueSerde: valueSerde, foreignValueSerde: foreignValueSerde, leftJoin: leftJoin, joiner: joiner)
            }
            try topology.addStateStore(resultStore)
            try topology.addProcessor(names.result, parents: [names.responseJoin], stores: [resultStoreName]) { (context: ProcessorContext<Key, Change<Output>>) in
                try TableStoreProcessor<Key, Output, Output?>(context: context, storeName: resultStoreName) { $0 }
            }
        }
        return KTable<Key, Output>(builder: builder, node: names.result, storeName: resultStoreName, keySerde: keySerde, valueSerde: value)
    }
}

/// The names of a foreign-key join's nodes, topics and store: Kafka Streams' generated ones
/// (`KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000006`), or derived from `named`.
private struct ForeignKeyJoinNames {
    let subscriptionSend: String
    let subscriptionSink: String
    let subscriptionTopic: TopicName
    let subscriptionSource: String
    let subscriptionStore: String
    let subscriptionReceive: String
    let foreignChange: String
    let responseSink: String
    let responseTopic: TopicName
    let responseSource: String
    let responseJoin: String
    let result: String

    init(builder: StreamsBuilder, named: String?) {
        func name(_ suffix: String, _ prefix: String) -> String { builder.nodeName(named.map { "\($0)-\(suffix)" }, prefix: prefix) }
        subscriptionSend = name("subscription-registration-send", "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-")
        let registration = name("subscription-registration", "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-")
        subscriptionSink = "\(registration)-sink"
        subscriptionTopic = .internal("\(registration)-topic")
        subscriptionSource = "\(registration)-source"
        subscriptionStore = name("subscription-store", "KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-")
        subscriptionReceive = name("subscription-receive", "KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-")
        foreignChange = name("foreign-table-change", "KTABLE-FK-JOIN-FOREIGN-TABLE-PROCESSOR-")
        let response = name("subscription-response", "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-")
        responseSink = "\(response)-sink"
        responseTopic = .internal("\(response)-topic")
        responseSource = "\(response)-source"
        responseJoin = name("response-join", "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-")
        result = named ?? builder.nodeName(nil, prefix: "KTABLE-FK-JOIN-OUTPUT-")
    }
}
