import Synchronization

/// The stores of every task this application instance runs, for interactive queries:
/// stream threads register a task's stores when they create it (restoring), mark them
/// ready once restored, and remove them before closing the task.
final class LocalStoreRegistry: Sendable {
    /// A typed store view; its own lock makes it safe to call from any thread.
    struct Handle: @unchecked Sendable {
        let store: AnyObject
    }

    struct Hosted: Sendable {
        let task: TaskID
        let store: Handle
        let restoring: Bool
    }

    private struct TaskEntry {
        var stores: [String: Handle]
        var restoring: Bool
    }

    private let tasks = Mutex<[TaskID: TaskEntry]>([:])

    func register(_ task: TaskID, stores: [String: AnyObject]) {
        guard !stores.isEmpty else { return }
        let handles = stores.mapValues(Handle.init)
        tasks.withLock { $0[task] = TaskEntry(stores: handles, restoring: true) }
    }

    func markRestored(_ task: TaskID) {
        tasks.withLock { $0[task]?.restoring = false }
    }

    func remove(_ task: TaskID) {
        tasks.withLock { _ = $0.removeValue(forKey: task) }
    }

    /// The local instances of store `name`, in task order.
    func hosting(_ name: String) -> [Hosted] {
        tasks.withLock { tasks in
            tasks.compactMap { task, entry in
                entry.stores[name].map { Hosted(task: task, store: $0, restoring: entry.restoring) }
            }
        }
        .sorted { $0.task < $1.task }
    }

    /// The local instances of store `name`; throws when this instance holds none.
    func hostedStores(_ name: String) throws -> [Hosted] {
        let hosted = hosting(name)
        guard !hosted.isEmpty else { throw StoreUnavailableError(store: name, reason: .notHosted) }
        return hosted
    }

    /// Every local instance of store `name`, all restored: a scan over a partly restored
    /// store would be wrong.
    func readyStores(_ name: String) throws -> [Hosted] {
        let hosted = try hostedStores(name)
        guard !hosted.contains(where: \.restoring) else { throw StoreUnavailableError(store: name, reason: .restoring) }
        return hosted
    }

    /// The hosted stores as `cast` types them, or an error naming the store's actual type.
    func typed<Typed>(_ hosted: [Hosted], name: String, _ cast: (AnyObject) -> Typed?) throws -> [Typed] {
        try hosted.map {
            guard let store = cast($0.store.store) else {
                throw StreamsError(.topology, "store \(name) does not hold \(Typed.self); it is \(type(of: $0.store.store))")
            }
            return store
        }
    }
}
