/// Why an interactive query (``StreamsApp/store(named:key:value:)``) cannot be answered by
/// this instance now. Each is temporary: ask again later, or ask the instance that hosts
/// the store's partitions.
public struct StoreUnavailableError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Reason: Sendable, Hashable {
        /// A local task of the store is still rebuilding it from its changelog.
        case restoring
        /// No task of this instance holds the store now: the application is not running,
        /// or the group gave the store's partitions to other instances.
        case notHosted
        /// The store was closed while the query used it (its task moved to another
        /// instance, or the application stopped).
        case closed
        /// No running instance holds the key's partition in the latest announcements
        /// (see ``StreamsApp/metadata(forKey:store:keySerde:)``): the application is
        /// starting, or a rebalance is under way.
        case rebalancing
    }

    public let store: String
    public let reason: Reason

    public init(store: String, reason: Reason) {
        self.store = store
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .restoring: "store \(store) is being restored from its changelog; query again once it is done"
        case .notHosted: "no task of this instance holds store \(store) now (not running, or its partitions are on other instances)"
        case .closed: "store \(store) was closed while queried (its task moved or the application stopped); query again"
        case .rebalancing: "no running instance holds this key of store \(store) now (starting, or a rebalance is under way); ask again"
        }
    }
}
