import RdKafka

/// A store every application instance holds whole: all partitions of its topic, read by
/// the instance's global-state thread, looked up by any task (a global table's).
struct GlobalStoreDefinition: Sendable {
    let store: StoreDefinition
    let topic: String
    /// The nodes `describe()` shows for it: the source reading the topic and the processor
    /// writing the store.
    let sourceName: String
    let processorName: String
    /// Makes, for the store's typed view and the context it was made with, what applies one
    /// record of the topic to it.
    let makeUpdater: @Sendable (AnyObject, TaskContext) throws -> (PolledRecord) throws -> Void
}

extension Topology {
    /// Adds a store holding the latest value of each key of all of `topic` (a null value
    /// deletes its key), kept in every instance by its global-state thread, and read by any
    /// processor that names it in `stores:`, whatever its partitions. Values keep the time
    /// of the record that wrote them.
    mutating func addGlobalStore<Key, Value>(
        _ builder: KeyValueStoreBuilder<Key, Value>, topic: String, sourceName: String, processorName: String, key: AnySerde<Key>?,
        value: AnySerde<Value>?
    ) throws {
        var builder = builder
        // The topic is the store's changelog, read by the global thread alone: no record
        // cache (no task commits it) and no changelog of its own.
        builder.cachingEnabled = false
        builder.loggingEnabled = false
        builder.timestampedValues = true
        let name = builder.name
        // A global store mirrors its topic: what the topic deletes, it deletes.
        guard builder.timeToLive == nil else { throw StreamsError(.topology, "global store \(name) cannot have a time to live") }
        guard stores[name] == nil, globalStores[name] == nil else { throw StreamsError(.topology, "a store named \(name) already exists") }
        for node in [sourceName, processorName] where self.node(named: node) != nil || globalStores.values.contains(where: { $0.sourceName == node || $0.processorName == node }) {
            throw StreamsError(.topology, "a node named \(node) already exists")
        }
        try checkUnread([.external(topic)], source: sourceName)
        let store = builder.definition(changelog: .external(topic))
        globalStores[name] = GlobalStoreDefinition(
            store: store, topic: topic, sourceName: sourceName, processorName: processorName
        ) { typed, context in
            guard let store = typed as? TypedKeyValueStore<Key, Value> else {
                throw StreamsError(.topology, "global store \(name) is not a key-value store of (\(Key.self), \(Value.self))")
            }
            let keySerde = try context.defaultSerdes.resolve(key, key: true, node: sourceName)
            let valueSerde = try context.defaultSerdes.resolve(value.map { AnySerde<Value?>.optional($0) }, key: false, node: sourceName)
            return { raw in
                let decodedKey: Key
                let decodedValue: Value?
                do {
                    decodedKey = try keySerde.decode(raw.key)
                } catch {
                    throw DeserializationError(part: .key, source: raw.coordinates, underlying: error)
                }
                do {
                    decodedValue = try valueSerde.decode(raw.value)
                } catch {
                    throw DeserializationError(part: .value, source: raw.coordinates, underlying: error)
                }
                guard let prepared = try store.prepareWrite(decodedKey) else {
                    context.logger.warning("skipping a global table record with a null key", metadata: ["topic": "\(raw.topic)"])
                    context.counters.skipped += 1
                    return
                }
                try store.write(prepared, decodedValue, timestamp: raw.timestamp, headers: raw.headers)
            }
        }
    }
}
