/// How a DSL operation keeps its state: the store's name (how interactive queries and
/// ``ProcessorContext/store(named:key:value:)`` find it), where it lives, and its changelog.
public struct Materialized: Sendable {
    /// `nil`: a generated name (`KSTREAM-AGGREGATE-STATE-STORE-0000000003`).
    public var storeName: String?
    public var kind: StoreKind
    public var loggingEnabled: Bool
    /// Changelog topic configs on top of `cleanup.policy=compact`.
    public var changelogConfig: [String: String]
    /// Whether updates wait in the record cache until the next commit, so the changelog and
    /// the downstream nodes see each key's latest value once per commit instead of every
    /// update (see ``StreamsConfiguration/recordCacheBytes``).
    public var cachingEnabled: Bool
    /// How long a key-value store's entry lives without an update, in stream time; `nil`:
    /// until deleted (see ``KeyValueStoreBuilder/withTimeToLive(_:)``).
    public var timeToLive: Duration?

    public init(
        storeName: String? = nil, kind: StoreKind = .persistent, loggingEnabled: Bool = true,
        changelogConfig: [String: String] = [:], cachingEnabled: Bool = true
    ) {
        self.storeName = storeName
        self.kind = kind
        self.loggingEnabled = loggingEnabled
        self.changelogConfig = changelogConfig
        self.cachingEnabled = cachingEnabled
    }

    /// A store called `name`.
    public static func `as`(_ name: String, kind: StoreKind = .persistent) -> Materialized {
        Materialized(storeName: name, kind: kind)
    }

    /// The same, without a changelog (state is not rebuilt when lost).
    public func withLoggingDisabled() -> Materialized {
        var copy = self
        copy.loggingEnabled = false
        return copy
    }

    /// The same, with entries that expire once stream time has moved `timeToLive` past their
    /// last update (see ``KeyValueStoreBuilder/withTimeToLive(_:)``). Only key-value stores
    /// take it: a windowed store's retention already bounds it.
    public func withTimeToLive(_ timeToLive: Duration) -> Materialized {
        var copy = self
        copy.timeToLive = timeToLive
        return copy
    }

    /// The same, with every update sent downstream and to the changelog at once.
    public func withCachingDisabled() -> Materialized {
        var copy = self
        copy.cachingEnabled = false
        return copy
    }

    @usableFromInline
    func builder<Key, Value>(
        named name: String, key: AnySerde<Key>?, value: AnySerde<Value>?, timestamped: Bool = false
    ) -> KeyValueStoreBuilder<Key, Value> {
        var builder = KeyValueStoreBuilder<Key, Value>(name: name, kind: kind, keySerde: key, valueSerde: value)
        builder.timestampedValues = timestamped
        builder.loggingEnabled = loggingEnabled
        builder.changelogConfig = changelogConfig
        builder.cachingEnabled = cachingEnabled
        builder.timeToLive = timeToLive
        return builder
    }
}
