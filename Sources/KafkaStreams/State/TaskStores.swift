import Foundation
import RdKafka

/// The stores of one task, and the commit step that makes their writes durable.
final class TaskStores {
    private(set) var instances: [StoreInstance] = []
    private let lock: StateDirectoryLock?

    init(instances: [StoreInstance], lock: StateDirectoryLock?) {
        self.instances = instances
        self.lock = lock
    }

    var isEmpty: Bool { instances.isEmpty }

    func instance(named name: String) -> StoreInstance? { instances.first { $0.name == name } }

    /// Before the producer flush: sends what the record caches hold to the changelogs and
    /// downstream, then deletes expired entries (their tombstones join the same commit).
    func flushCaches() throws {
        for instance in instances {
            try instance.typed.flushCache()
            if let (expiry, uncached) = instance.expiry { try expiry.purgeIfDue(uncached) }
        }
    }

    /// Once restored, before the task processes anything: stores whose entries expire
    /// learn where stream time had got to (see ``StoreExpiry``).
    func noteRestored() throws {
        for instance in instances {
            if let (expiry, uncached) = instance.expiry { try expiry.noteStoredTimes(in: uncached) }
        }
    }

    /// After the producer flush: writes each store's pending data with the changelog offset
    /// it is complete up to. A failed changelog write stops the task instead, since the
    /// changelog would no longer rebuild the store.
    ///
    /// - Parameter sourceOffsets: the next offset to read of each input topic, for stores
    ///   restored from a source topic (tables).
    func checkpoint(sourceOffsets: [String: Int64]) throws {
        for instance in instances {
            var offset: Int64?
            if let logging = instance.logging {
                if let failure = logging.tracker.failure {
                    throw StreamsError(.commit, "a write to the changelog of store \(instance.name) failed", underlying: failure)
                }
                let highest = logging.tracker.highestOffset
                offset = highest >= 0 ? highest : nil
            } else if let changelog = instance.changelog, let next = sourceOffsets[changelog.topic], next > 0 {
                offset = next - 1
            }
            try instance.typed.locked { try instance.root.commit(changelogOffset: offset) }
        }
    }

    /// Closes the stores (uncommitted writes are dropped: the changelog has them, and
    /// cached ones are made again from the uncommitted input) and releases the task's state
    /// directory.
    func close() {
        for instance in instances { instance.typed.close { instance.root.close() } }
        instances = []
        lock?.release()
    }
}
