import Synchronization

/// The lock of one task's store, so interactive queries on other threads read a consistent
/// store while the stream thread writes it. It guards what queries read (the record cache's
/// held writes and the bottom store) and is never held across a send to the changelog: a
/// producer whose queue is full blocks the stream thread, not the queries. It also records
/// whether the store was closed.
@usableFromInline
final class StoreLock: Sendable {
    @usableFromInline let store: String
    @usableFromInline let closed = Mutex(false)

    init(store: String) {
        self.store = store
    }

    /// Runs `body` under the lock, or throws if the store was closed (its task moved away
    /// or the application stopped) while a query held on to it.
    @inlinable
    func locked<T>(_ body: () throws -> T) throws -> T {
        try closed.withLock { isClosed in
            guard !isClosed else { throw StoreUnavailableError(store: store, reason: .closed) }
            return try body()
        }
    }

    /// Runs `body` under the lock and marks the store closed (once).
    func close(_ body: () -> Void) {
        closed.withLock { isClosed in
            guard !isClosed else { return }
            isClosed = true
            body()
        }
    }
}
