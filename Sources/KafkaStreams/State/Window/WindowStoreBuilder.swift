/// How each task builds one window or session store: a key-value store of segmented keys
/// with its usual layers (cache, changelog, RocksDB or memory), under a typed store of its
/// own (``TypedWindowStore``, ``TypedSessionStore``).
@usableFromInline
struct WindowStoreBuilder<Key, Value>: Sendable {
    /// The kind of windows the store holds.
    @usableFromInline
    enum Windows: Sendable {
        /// Time windows of this size in milliseconds.
        case time(size: Int64)
        case sessions
    }

    let name: String
    let windows: Windows
    let materialized: Materialized
    let keySerde: AnySerde<Key>?
    let valueSerde: AnySerde<Value>?
    /// Milliseconds a window is kept after its start (a session after its end), at least.
    let retention: Int64

    @usableFromInline
    init(name: String, windows: Windows, materialized: Materialized, keySerde: AnySerde<Key>?, valueSerde: AnySerde<Value>?, retention: Int64) {
        self.name = name
        self.windows = windows
        self.materialized = materialized
        self.keySerde = keySerde
        self.valueSerde = valueSerde
        self.retention = retention
    }

    /// How much longer than the store the changelog topic keeps records: one day.
    static var additionalChangelogRetention: Int64 { 86_400_000 }

    func definition() -> StoreDefinition {
        var definition: StoreDefinition
        switch windows {
        case .time(let size):
            definition = wrapping(WindowStoreKeySerde()) { inner, keySerde, valueSerde in
                TypedWindowStore(name: name, inner: inner, keySerde: keySerde, valueSerde: valueSerde, retention: retention, windowSize: size)
            }
            definition.kind = .window(sizeMs: size, retentionMs: retention)
        case .sessions:
            definition = wrapping(SessionStoreKeySerde()) { inner, keySerde, valueSerde in
                TypedSessionStore(name: name, inner: inner, keySerde: keySerde, valueSerde: valueSerde, retention: retention)
            }
            definition.kind = .session(retentionMs: retention)
        }
        return definition
    }

    /// The definition of a key-value store of `StoreKey`s whose typed view `wrap` wraps.
    private func wrapping<StoreKey: Hashable & Sendable>(
        _ storeKeySerde: some Serde<StoreKey>,
        _ wrap: @escaping @Sendable (TypedKeyValueStore<StoreKey, [UInt8]>, AnySerde<Key>, AnySerde<Value>) -> AnyObject & ManagedStore
    ) -> StoreDefinition {
        var baseBuilder = materialized.builder(named: name, key: AnySerde(storeKeySerde), value: AnySerde(BytesSerde()))
        // Retention bounds a windowed store; a time to live is refused when it is added.
        baseBuilder.timeToLive = nil
        baseBuilder.segmentedKeys = true
        let base = baseBuilder.definition()
        // Expired segments leave the store without changelog records: the changelog topic
        // drops them by time, a day after the store would (Kafka Streams'
        // `windowstore.changelog.additional.retention.ms`). The user's settings win.
        let changelogConfig = base.changelogConfig.merging([
            "cleanup.policy": "compact,delete", "retention.ms": String(retention + Self.additionalChangelogRetention),
        ]) { own, _ in own }
        var definition = StoreDefinition(name: name, persistent: base.persistent, changelog: base.changelog, changelogConfig: changelogConfig) {
            [self] creation in
            let node = "store \(name)"
            let keySerde = try creation.task.defaultSerdes.resolve(keySerde, key: true, node: node)
            let valueSerde = try creation.task.defaultSerdes.resolve(valueSerde, key: false, node: node)
            let instance = try base.make(creation)
            guard let inner = instance.typed as? TypedKeyValueStore<StoreKey, [UInt8]> else {
                preconditionFailure("a key-value store builder made \(type(of: instance.typed))")
            }
            return StoreInstance(
                name: name, typed: wrap(inner, keySerde, valueSerde), root: instance.root, logging: instance.logging, changelog: instance.changelog)
        }
        definition.timeToLive = materialized.timeToLive
        return definition
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

    /// The task's session store `name`, as the session processors hold it.
    @usableFromInline
    func sessionStore<StoreKey, StoreValue>(named name: String) throws -> TypedSessionStore<StoreKey, StoreValue> {
        guard let store = task.stores[name] as? TypedSessionStore<StoreKey, StoreValue> else {
            throw StreamsError(.topology, "store \(name) is not a session store of (\(StoreKey.self), \(StoreValue.self))")
        }
        return store
    }
}
