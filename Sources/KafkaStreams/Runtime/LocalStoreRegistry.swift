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
}
