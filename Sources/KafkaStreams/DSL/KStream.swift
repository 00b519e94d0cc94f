/// A record stream: each record an independent event. Operations return new streams and
/// add nodes to the builder's topology; closures run on stream threads, so they must be
/// `@Sendable`. A closure that throws sends the record to the processing error handler.
///
/// Serdes given to a source (or `repartition`) carry along as long as the key or value
/// type stays the same; `to` and `repartition` use them when given none.
///
/// The operations are `@inlinable` so that their per-record closures are compiled, and
/// specialized for your types, in your module.
public struct KStream<Key, Value> {
    @usableFromInline let builder: StreamsBuilder
    /// The node whose output this stream is.
    @usableFromInline let node: String
    @usableFromInline let keySerde: AnySerde<Key>?
    @usableFromInline let valueSerde: AnySerde<Value>?
    /// Whether an operation may have changed keys since the stream was last partitioned
    /// by key, so a grouping must repartition first.
    @usableFromInline let repartitionRequired: Bool

    @usableFromInline
    init(
        builder: StreamsBuilder, node: String, keySerde: AnySerde<Key>?, valueSerde: AnySerde<Value>?,
        repartitionRequired: Bool = false
    ) {
        self.builder = builder
        self.node = node
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.repartitionRequired = repartitionRequired
    }

    /// Keeps the records for which `predicate` is true.
    @inlinable
    public func filter(named: String? = nil, _ predicate: @escaping @Sendable (Key, Value) throws -> Bool) -> KStream<Key, Value> {
        stateless(prefix: "KSTREAM-FILTER-", named: named) { record, context in
            if try predicate(record.key, record.value) { try context.forward(record) }
        }
    }

    /// Drops the records for which `predicate` is true.
    @inlinable
    public func filterNot(named: String? = nil, _ predicate: @escaping @Sendable (Key, Value) throws -> Bool) -> KStream<Key, Value> {
        stateless(prefix: "KSTREAM-FILTER-", named: named) { record, context in
            if try !predicate(record.key, record.value) { try context.forward(record) }
        }
    }

    /// Replaces key and value.
    @inlinable
    public func map<NewKey, NewValue>(
        named: String? = nil, _ transform: @escaping @Sendable (Key, Value) throws -> (NewKey, NewValue)
    ) -> KStream<NewKey, NewValue> {
        stateless(prefix: "KSTREAM-MAP-", named: named, changesKey: true) { record, context in
            let (key, value) = try transform(record.key, record.value)
            try context.forward(Record(key: key, value: value, timestamp: record.timestamp, headers: record.headers))
        }
    }

    /// Replaces the value, keeping the key.
    @inlinable
    public func mapValues<NewValue>(
        named: String? = nil, _ transform: @escaping @Sendable (Value) throws -> NewValue
    ) -> KStream<Key, NewValue> {
        stateless(prefix: "KSTREAM-MAPVALUES-", named: named) { record, context in
            try context.forward(record.withValue(try transform(record.value)))
        }
    }

    /// Replaces each record with zero or more records.
    @inlinable
    public func flatMap<NewKey, NewValue>(
        named: String? = nil, _ transform: @escaping @Sendable (Key, Value) throws -> [(NewKey, NewValue)]
    ) -> KStream<NewKey, NewValue> {
        stateless(prefix: "KSTREAM-FLATMAP-", named: named, changesKey: true) { record, context in
            for (key, value) in try transform(record.key, record.value) {
                try context.forward(Record(key: key, value: value, timestamp: record.timestamp, headers: record.headers))
            }
        }
    }

    /// Replaces each record with zero or more records of the same key.
    @inlinable
    public func flatMapValues<NewValue>(
        named: String? = nil, _ transform: @escaping @Sendable (Value) throws -> [NewValue]
    ) -> KStream<Key, NewValue> {
        stateless(prefix: "KSTREAM-FLATMAPVALUES-", named: named) { record, context in
            for value in try transform(record.value) { try context.forward(record.withValue(value)) }
        }
    }

    /// Replaces the key, keeping the value. (A later stateful operation on the new key
    /// needs a ``repartition(named:partitions:key:value:)`` first.)
    @inlinable
    public func selectKey<NewKey>(
        named: String? = nil, _ selector: @escaping @Sendable (Key, Value) throws -> NewKey
    ) -> KStream<NewKey, Value> {
        stateless(prefix: "KSTREAM-KEY-SELECT-", named: named, changesKey: true) { record, context in
            try context.forward(record.withKey(try selector(record.key, record.value)))
        }
    }

    /// Calls `action` for each record and passes the record on unchanged.
    @inlinable
    public func peek(named: String? = nil, _ action: @escaping @Sendable (Key, Value) throws -> Void) -> KStream<Key, Value> {
        stateless(prefix: "KSTREAM-PEEK-", named: named) { record, context in
            try action(record.key, record.value)
            try context.forward(record)
        }
    }

    /// Calls `action` for each record; the stream ends here.
    @inlinable
    public func foreach(named: String? = nil, _ action: @escaping @Sendable (Key, Value) throws -> Void) {
        _ = stateless(prefix: "KSTREAM-FOREACH-", named: named) { (record, _: ProcessorContext<Key, Value>) in
            try action(record.key, record.value)
        }
    }

    /// The records of this stream and `other`, interleaved as they arrive.
    @inlinable
    public func merge(_ other: KStream<Key, Value>, named: String? = nil) -> KStream<Key, Value> {
        stateless(
            prefix: "KSTREAM-MERGE-", named: named, parents: [node, other.node], changesKey: other.repartitionRequired,
            keySerde: keySerde ?? other.keySerde, valueSerde: valueSerde ?? other.valueSerde
        ) { record, context in
            try context.forward(record)
        }
    }

    /// Sends records to a ``Processor`` of your own, created per task by `factory`; the
    /// returned stream carries what it forwards.
    @inlinable
    public func process<P: Processor, NewKey, NewValue>(
        named: String? = nil,
        stores: [String] = [],
        _ factory: @escaping @Sendable (ProcessorContext<NewKey, NewValue>) throws -> P
    ) -> KStream<NewKey, NewValue> where P.InputKey == Key, P.InputValue == Value {
        let name = builder.nodeName(named, prefix: "KSTREAM-PROCESSOR-")
        let parent = node
        builder.record { try $0.addProcessor(name, parents: [parent], stores: stores, factory) }
        return KStream<NewKey, NewValue>(builder: builder, node: name, keySerde: nil, valueSerde: nil, repartitionRequired: true)
    }
}
