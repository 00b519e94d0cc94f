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

    private func hostedStores() throws -> [LocalStoreRegistry.Hosted] { try registry.hostedStores(name) }

    private func readyStores() throws -> [any ReadOnlyKeyValueStore<Key, Value>] { try typed(try registry.readyStores(name)) }

    private func typed(_ hosted: [LocalStoreRegistry.Hosted]) throws -> [any ReadOnlyKeyValueStore<Key, Value>] {
        try registry.typed(hosted, name: name) { $0 as? any ReadOnlyKeyValueStore<Key, Value> }
    }
}

/// An interactive query's view of one window store over every local task that holds it.
/// A key lives in one partition, so a key's windows come from the one ready task that has
/// them; ``fetchAll(from:to:)`` returns each task's windows in order, one task after another.
final class LocalWindowStoreView<Key, Value>: ReadOnlyWindowStore, @unchecked Sendable {
    let name: String
    private let registry: LocalStoreRegistry

    init(name: String, registry: LocalStoreRegistry) {
        self.name = name
        self.registry = registry
    }

    func fetch(_ key: Key, windowStart: Int64) throws -> Value? {
        try fetch(key, from: windowStart, to: windowStart).first?.value
    }

    func fetch(_ key: Key, from: Int64, to: Int64) throws -> [(window: Window, value: Value)] {
        try readyStores().flatMap { try $0.fetch(key, from: from, to: to) }
    }

    func fetchAll(from: Int64, to: Int64) throws -> [(key: Windowed<Key>, value: Value)] {
        try readyStores().flatMap { try $0.fetchAll(from: from, to: to) }
    }

    private func readyStores() throws -> [any ReadOnlyWindowStore<Key, Value>] {
        try registry.typed(try registry.readyStores(name), name: name) { $0 as? any ReadOnlyWindowStore<Key, Value> }
    }
}

/// An interactive query's view of one session store over every local task that holds it.
final class LocalSessionStoreView<Key, Value>: ReadOnlySessionStore, @unchecked Sendable {
    let name: String
    private let registry: LocalStoreRegistry

    init(name: String, registry: LocalStoreRegistry) {
        self.name = name
        self.registry = registry
    }

    func findSessions(_ key: Key, earliestEnd: Int64, latestStart: Int64) throws -> [(window: Window, value: Value)] {
        try registry.typed(try registry.readyStores(name), name: name) { $0 as? any ReadOnlySessionStore<Key, Value> }
            .flatMap { try $0.findSessions(key, earliestEnd: earliestEnd, latestStart: latestStart) }
    }
}
