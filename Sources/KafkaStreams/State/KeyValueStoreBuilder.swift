/// Where a store keeps its bytes.
public enum StoreKind: Sendable {
    /// RocksDB under the state directory: survives restarts; a restore reads only the
    /// changelog's tail.
    case persistent
    /// A dictionary: gone on restart; a restore reads the whole changelog.
    case inMemory
}

/// How each task builds one key-value store: where it keeps its bytes, its serdes, and
/// whether it writes a changelog.
///
/// ```swift
/// try topology.addStateStore(.persistent("totals", key: .string, value: .int64))
/// try topology.addProcessor("sum", parents: ["orders"], stores: ["totals"]) { Summer(context: $0) }
/// ```
public struct KeyValueStoreBuilder<Key, Value>: Sendable {
    public typealias Kind = StoreKind

    public let name: String
    public var kind: Kind
    /// `nil`: the configuration's default serdes.
    public var keySerde: (any Serde<Key>)?
    public var valueSerde: (any Serde<Value>)?
    /// Whether writes also go to `<applicationId>-<name>-changelog`. Without a changelog
    /// a store is not rebuilt after its local state is lost or its task moves.
    public var loggingEnabled = true
    /// Topic configs for the changelog on top of `cleanup.policy=compact`.
    public var changelogConfig: [String: String] = [:]
    /// Whether writes wait in the thread's record cache until the next commit (or until the
    /// cache is full), so a key updated many times reaches the changelog once per commit.
    /// Off by default for stores a processor adds; on for DSL aggregations (see
    /// ``Materialized``). Without effect when ``StreamsConfiguration/recordCacheBytes`` is 0.
    public var cachingEnabled = false
    /// Whether each value is stored with the time of its update (the DSL's aggregations,
    /// whose results carry the largest time of what they aggregate).
    @usableFromInline var timestampedValues = false
    /// How long an entry lives without an update, in stream time: `nil` keeps entries
    /// until deleted. See ``withTimeToLive(_:)``.
    public var timeToLive: Duration?
    /// Whether the keys start with a segment number (a window or session store's), which
    /// lets the record cache drop an expired segment's writes without a pass over all.
    var segmentedKeys = false

    public init(name: String, kind: Kind, keySerde: (any Serde<Key>)? = nil, valueSerde: (any Serde<Value>)? = nil) {
        self.name = name
        self.kind = kind
        self.keySerde = keySerde
        self.valueSerde = valueSerde
    }

    /// A RocksDB store.
    public static func persistent(_ name: String, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil) -> Self {
        Self(name: name, kind: .persistent, keySerde: key, valueSerde: value)
    }

    /// An in-memory store.
    public static func inMemory(_ name: String, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil) -> Self {
        Self(name: name, kind: .inMemory, keySerde: key, valueSerde: value)
    }

    /// The same store without a changelog.
    public func withLoggingDisabled() -> Self {
        var copy = self
        copy.loggingEnabled = false
        return copy
    }

    /// The same store with its writes held in the record cache between commits.
    public func withCachingEnabled() -> Self {
        var copy = self
        copy.cachingEnabled = true
        return copy
    }

    /// The same store with every write going straight to its changelog.
    public func withCachingDisabled() -> Self {
        var copy = self
        copy.cachingEnabled = false
        return copy
    }

    /// The same store with entries that expire once stream time has moved `timeToLive` past
    /// their last update: a bounded map of recent keys (last seen, per-session state) rather
    /// than one that grows with every key ever seen.
    ///
    /// An entry's time is the stream time of the write that made it (for a DSL
    /// aggregation, the largest time of what it aggregates, which its results carry). Reads
    /// and queries miss an expired entry at once; expired entries are deleted at commits,
    /// with a tombstone to the changelog, so a restore agrees. The deletions are not sent
    /// downstream. Stream time is the task's, so an idle partition expires nothing.
    public func withTimeToLive(_ timeToLive: Duration) -> Self {
        var copy = self
        copy.timeToLive = timeToLive
        return copy
    }

    /// The same store with extra changelog topic configs (e.g. `min.compaction.lag.ms`).
    public func withLogging(config: [String: String]) -> Self {
        var copy = self
        copy.loggingEnabled = true
        copy.changelogConfig = config
        return copy
    }
}
