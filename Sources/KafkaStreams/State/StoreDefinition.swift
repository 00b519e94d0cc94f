import Foundation
import Logging
import RdKafka
import RocksDB

/// A store of a ``Topology``, with the closure that builds it for a task.
struct StoreDefinition: Sendable {
    let name: String
    let persistent: Bool
    /// The topic the store is rebuilt from: its own changelog (internal), a table's source
    /// topic (external), or none.
    let changelog: TopicName?
    let changelogConfig: [String: String]
    let make: @Sendable (StoreCreation) throws -> StoreInstance
    /// What the store holds, for descriptions of the topology.
    var kind: TopologyDescription.Store.Kind = .keyValue
    /// A key-value store's ``KeyValueStoreBuilder/timeToLive``.
    var timeToLive: Duration?
}

/// What a task gives a store definition to build its store.
struct StoreCreation {
    let task: TaskContext
    /// `<stateDir>/<applicationId>/<task>`; the store lives in `<directory>/<store name>`.
    let directory: String
    let resources: RocksDBResources?
}

/// One task's store: the typed view processors use, the layers under it, and its changelog.
final class StoreInstance {
    let name: String
    /// The view processors and queries use; its lock also guards commits and restores.
    let typed: AnyObject & ManagedStore
    let root: RootBytesStore
    /// Present when the store writes its own changelog.
    let logging: ChangeLoggingBytesStore?
    /// The partition the store is restored from, if any.
    let changelog: TopicPartition?
    /// Whether the store keeps each value with its time, which its changelog records carry
    /// as their timestamps (see ``TimestampedBytes``): a restore puts it back.
    let timestampedValues: Bool
    /// The store's time to live, and the layers under its record cache that a purge of
    /// expired entries deletes from.
    let expiry: (expiry: StoreExpiry, uncached: BytesStore)?

    init(
        name: String, typed: AnyObject & ManagedStore, root: RootBytesStore, logging: ChangeLoggingBytesStore?, changelog: TopicPartition?,
        timestampedValues: Bool = false, expiry: (expiry: StoreExpiry, uncached: BytesStore)? = nil
    ) {
        self.expiry = expiry
        self.timestampedValues = timestampedValues
        self.name = name
        self.typed = typed
        self.root = root
        self.logging = logging
        self.changelog = changelog
    }
}

extension KeyValueStoreBuilder {
    func definition(changelog override: TopicName? = nil) -> StoreDefinition {
        let changelog: TopicName? = override ?? (loggingEnabled ? .internal("\(name)-changelog") : nil)
        // An entry's time decides when it expires, so a store with a time to live keeps it.
        let timestampedValues = timestampedValues || timeToLive != nil
        var definition = StoreDefinition(
            name: name, persistent: kind == .persistent, changelog: changelog, changelogConfig: changelogConfig
        ) { [self] creation in
            let task = creation.task
            let node = "store \(name)"
            let keySerde = try task.defaultSerdes.resolve(keySerde.map { AnySerde($0) }, key: true, node: node)
            let valueSerde = try task.defaultSerdes.resolve(valueSerde.map { AnySerde($0) }, key: false, node: node)
            let root: RootBytesStore = switch kind {
            case .persistent: try openPersistent(path: "\(creation.directory)/\(name)", resources: creation.resources, logger: task.logger)
            case .inMemory: InMemoryBytesStore()
            }
            let changelogPartition = changelog.map {
                TopicPartition(topic: $0.resolved(applicationID: task.applicationID), partition: task.id.partition)
            }
            let lock = StoreLock(store: name)
            let lockedRoot = LockedWritesBytesStore(inner: root, lock: lock)
            var logging: ChangeLoggingBytesStore?
            if let changelogPartition, changelog?.isInternal == true {
                logging = ChangeLoggingBytesStore(
                    inner: lockedRoot, topic: changelogPartition.topic, partition: changelogPartition.partition, task: task,
                    timestampedValues: timestampedValues)
            }
            let uncached: BytesStore = logging ?? lockedRoot
            var cache: CachingBytesStore?
            if cachingEnabled, let budget = task.recordCache {
                cache = CachingBytesStore(inner: uncached, cache: budget, task: task, lock: lock, segmentedKeys: segmentedKeys)
            }
            let expiry = timeToLive.map {
                StoreExpiry(
                    timeToLive: $0.wholeMilliseconds, streamTime: task.streamTimeForExpiry(), applicationID: task.applicationID,
                    task: task.id, store: name)
            }
            // A write's time: the record's, or for entries that expire, stream time (never
            // older than the record's), so a fresh write is never expired on arrival.
            let currentTime: () -> Int64 = expiry == nil
                ? { [unowned task] in task.currentRecord?.timestamp ?? max(task.streamTime, 0) }
                : { [unowned task] in max(task.streamTime, task.currentRecord?.timestamp ?? 0, 0) }
            let typed = TypedKeyValueStore(
                name: name, keySerde: keySerde, valueSerde: valueSerde, inner: cache ?? uncached, lock: lock, cache: cache,
                metrics: StoreMetrics(applicationID: task.applicationID, task: task.id, store: name, cached: cache != nil), timestamped: timestampedValues,
                expiry: expiry, currentTime: currentTime)
            return StoreInstance(
                name: name, typed: typed, root: root, logging: logging, changelog: changelogPartition, timestampedValues: timestampedValues,
                expiry: expiry.map { ($0, uncached) })
        }
        definition.timeToLive = timeToLive
        return definition
    }

    /// Corrupt files, or files the database names but that are gone: local state that can
    /// only be rebuilt. (Other I/O errors, such as permissions, are left to the user.)
    private static func isDamage(_ error: RocksDBError) -> Bool {
        error.kind == .corruption || (error.kind == .io && error.message.contains("No such file or directory"))
    }

    /// Opens the RocksDB store; damaged local state is deleted (and later restored from the
    /// changelog) rather than stopping the task.
    private func openPersistent(path: String, resources: RocksDBResources?, logger: Logger) throws -> RootBytesStore {
        do {
            return try RocksDBBytesStore(path: path, resources: resources)
        } catch let error as RocksDBError where Self.isDamage(error) {
            logger.warning("local state of store \(name) is unreadable (\(error.message)); deleting it to restore from the changelog")
            try FileManager.default.removeItem(atPath: path)
            return try RocksDBBytesStore(path: path, resources: resources)
        }
    }
}
