/// How each task builds one window store: a key-value store of ``WindowStoreKey``s with its
/// usual layers (cache, changelog, RocksDB or memory), under a ``TypedWindowStore``.
@usableFromInline
struct WindowStoreBuilder<Key, Value>: Sendable {
    let name: String
    let kind: StoreKind
    let keySerde: AnySerde<Key>?
    let valueSerde: AnySerde<Value>?
    /// Milliseconds a window is kept after its start, at least.
    let retention: Int64
    /// The windows' length in milliseconds.
    let windowSize: Int64
    let loggingEnabled: Bool
    let cachingEnabled: Bool
    let changelogConfig: [String: String]

    @usableFromInline
    init(
        name: String, materialized: Materialized, keySerde: AnySerde<Key>?, valueSerde: AnySerde<Value>?, retention: Int64, windowSize: Int64
    ) {
        self.name = name
        self.windowSize = windowSize
        kind = materialized.kind
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.retention = retention
        loggingEnabled = materialized.loggingEnabled
        cachingEnabled = materialized.cachingEnabled
        changelogConfig = materialized.changelogConfig
    }

    func definition() -> StoreDefinition {
        var windows = KeyValueStoreBuilder<WindowStoreKey, [UInt8]>(name: name, kind: kind, keySerde: WindowStoreKeySerde(), valueSerde: BytesSerde())
        windows.loggingEnabled = loggingEnabled
        windows.cachingEnabled = cachingEnabled
        windows.changelogConfig = changelogConfig
        let base = windows.definition()
        return StoreDefinition(name: name, persistent: base.persistent, changelog: base.changelog, changelogConfig: base.changelogConfig) {
            [self] creation in
            let node = "store \(name)"
            let keySerde = try creation.task.defaultSerdes.resolve(keySerde, key: true, node: node)
            let valueSerde = try creation.task.defaultSerdes.resolve(valueSerde, key: false, node: node)
            let instance = try base.make(creation)
            guard let inner = instance.typed as? TypedKeyValueStore<WindowStoreKey, [UInt8]> else {
                preconditionFailure("a key-value store builder made \(type(of: instance.typed))")
            }
            let store = TypedWindowStore(
                name: name, inner: inner, keySerde: keySerde, valueSerde: valueSerde, retention: retention, windowSize: windowSize)
            return StoreInstance(name: name, typed: store, root: instance.root, logging: instance.logging, changelog: instance.changelog)
        }
    }
}

extension Topology {
    @usableFromInline
    mutating func addWindowStore<Key, Value>(_ builder: WindowStoreBuilder<Key, Value>) throws {
        try addStore(builder.definition())
    }
}

extension ProcessorContext {
    /// The task's window store `name`, as the windowed processors hold it.
    @usableFromInline
    func windowStore<StoreKey, StoreValue>(named name: String) throws -> TypedWindowStore<StoreKey, StoreValue> {
        guard let store = task.stores[name] as? TypedWindowStore<StoreKey, StoreValue> else {
            throw StreamsError(.topology, "store \(name) is not a window store of (\(StoreKey.self), \(StoreValue.self))")
        }
        return store
    }
}
