import Metrics
import Synchronization

/// A task's stream time as its stores' expiry reads it: the stream thread publishes each
/// advance, and queries on other threads read it.
@usableFromInline
final class PublishedStreamTime: Sendable {
    private let value = Atomic<Int64>(-1)

    init() {}

    @usableFromInline func publish(_ time: Int64) { value.store(time, ordering: .relaxed) }

    @usableFromInline var current: Int64 { value.load(ordering: .relaxed) }
}

/// The time to live of a key-value store's entries, in one task: an entry whose time is
/// `t` is gone once stream time reaches `t + timeToLive`.
///
/// Reads hide an expired entry at once, so what processors and queries see does not
/// depend on when expired entries are deleted. Deleting them is a purge at a commit, after
/// the record cache's flush: a scan of the store below the cache that deletes each expired
/// entry there, with a tombstone to the changelog, so a restore agrees. A purge runs once
/// stream time has moved a quarter of the time to live past the last one: an expired entry
/// stays on disk for at most that long, and a store is scanned at most four times per time
/// to live of stream time.
@usableFromInline
final class StoreExpiry: @unchecked Sendable {
    /// Milliseconds.
    @usableFromInline let timeToLive: Int64
    private let streamTime: PublishedStreamTime
    /// The latest time the store held when its task was created (after its restore): a
    /// restarted task's stream time starts again from the records it reprocesses, which
    /// may be earlier than where it stood. No entry's time is later than stream time at
    /// its write, and the record that last moved stream time stamped its entry with it
    /// when it wrote one (an aggregation's every record does): the latest stored time is
    /// where stream time had got to at the last commit, or just short of it.
    private let floor = Atomic<Int64>(-1)
    private let expired: Counter
    // Touched by the stream thread alone, at its commits.
    private var nextPurge = Int64.min

    init(timeToLive: Int64, streamTime: PublishedStreamTime, applicationID: String, task: TaskID, store: String) {
        self.timeToLive = timeToLive
        self.streamTime = streamTime
        expired = Counter(
            label: "kafka_streams_store_expired_entries_total",
            dimensions: [("application_id", applicationID), ("task", "\(task)"), ("store", store)])
    }

    /// Whether an entry stored with `time` has expired, as of the task's stream time.
    @usableFromInline
    func isExpired(_ time: Int64) -> Bool {
        let now = self.now
        return now >= 0 && now - timeToLive >= time
    }

    /// Stream time as expiry counts it: the task's, or the floor after a restart.
    private var now: Int64 { max(streamTime.current, floor.load(ordering: .relaxed)) }

    /// Raises the floor to the latest time `store` holds (called once the store is
    /// restored, before the task processes anything).
    func noteStoredTimes(in store: BytesStore) throws {
        var latest: Int64 = -1
        for entry in try store.range(from: nil, to: nil) {
            if let split = TimestampedBytes.split(entry.value) { latest = max(latest, split.timestamp) }
        }
        floor.store(latest, ordering: .relaxed)
    }

    /// Deletes the expired entries of `store` (the layers under the record cache, changelog
    /// included) when a purge is due; returns how many it deleted.
    @discardableResult
    func purgeIfDue(_ store: BytesStore) throws -> Int {
        let now = self.now
        guard now >= 0, now >= nextPurge else { return 0 }
        nextPurge = now + max(timeToLive / 4, 1)
        var deleted = 0
        for entry in try store.range(from: nil, to: nil) {
            guard let split = TimestampedBytes.split(entry.value), isExpired(split.timestamp) else { continue }
            try store.put(entry.key, nil)
            deleted += 1
        }
        if deleted > 0 { expired.increment(by: deleted) }
        return deleted
    }
}
