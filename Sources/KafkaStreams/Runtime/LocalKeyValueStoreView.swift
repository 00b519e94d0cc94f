/// An interactive query's view of one store over every local task that holds it, looked
/// up anew on each call, so it follows tasks as rebalances move them.
///
/// A key lives in one partition, so ``get(_:)`` asks each ready task's store; the scans
/// return each task's entries in key order, one task after another.
final class LocalKeyValueStoreView<Key, Value>: ReadOnlyKeyValueStore, @unchecked Sendable {
    let name: String
    private let registry: LocalStoreRegistry

    init(name: String, registry: LocalStoreRegistry) {
        self.name = name
        self.registry = registry
    }

    func get(_ key: Key) throws -> Value? {
        let hosted = try hostedStores()
        for store in try typed(hosted.filter { !$0.restoring }) {
            if let value = try store.get(key) { return value }
        }
        // Absent from the ready stores; a restoring one may hold it.
        if hosted.contains(where: \.restoring) { throw StoreUnavailableError(store: name, reason: .restoring) }
        return nil
    }

    func range(from: Key?, to: Key?) throws -> [(key: Key, value: Value)] {
        try readyStores().flatMap { try $0.range(from: from, to: to) }
    }

    func all() throws -> [(key: Key, value: Value)] {
        try readyStores().flatMap { try $0.all() }
    }

    func prefixScan(_ prefix: Key) throws -> [(key: Key, value: Value)] {
        try readyStores().flatMap { try $0.prefixScan(prefix) }
    }

    func approximateCount() throws -> Int {
        try readyStores().reduce(0) { $0 + (try $1.approximateCount()) }
    }

    private func hostedStores() throws -> [LocalStoreRegistry.Hosted] {
        let hosted = registry.hosting(name)
        guard !hosted.isEmpty else { throw StoreUnavailableError(store: name, reason: .notHosted) }
        return hosted
    }

    /// Every local store, all restored: a scan over a partly restored store would be wrong.
    private func readyStores() throws -> [any ReadOnlyKeyValueStore<Key, Value>] {
        let hosted = try hostedStores()
        guard !hosted.contains(where: \.restoring) else { throw StoreUnavailableError(store: name, reason: .restoring) }
        return try typed(hosted)
    }

    private func typed(_ hosted: [LocalStoreRegistry.Hosted]) throws -> [any ReadOnlyKeyValueStore<Key, Value>] {
        try hosted.map {
            guard let store = $0.store.store as? any ReadOnlyKeyValueStore<Key, Value> else {
                throw StreamsError(.topology, "store \(name) does not hold (\(Key.self), \(Value.self)); it is \(type(of: $0.store.store))")
            }
            return store
        }
    }
}
