import Foundation
import Logging

/// The state a task's processors share: the record being processed, stream time, the
/// clock, punctuations, where outputs go. One per task, used on its stream thread only.
@usableFromInline
final class TaskContext {
    let id: TaskID
    @usableFromInline let applicationID: String
    let logger: Logger
    @usableFromInline let clock: WallClock
    @usableFromInline let collector: RecordCollector
    @usableFromInline let defaultSerdes: DefaultSerdes
    let punctuations = PunctuationSchedule()
    /// Shared by the tasks of one stream thread, so its loop reads totals without visiting
    /// every task.
    let counters: ThreadCounters
    // Touched per record, on the task's thread only and never while another access is open:
    // no dynamic exclusivity check (which costs more than the access).
    @exclusivity(unchecked) @usableFromInline var currentRecord: RecordContext?
    /// The typed views of the task's stores, by name.
    var stores: [String: AnyObject] = [:]
    /// State the processors of one operator share within the task (the two sides of a
    /// stream–stream join share its stream time), by operator name.
    @usableFromInline var sharedOperatorState: [String: AnyObject] = [:]

    /// The state the operator `name` shares within the task, made by `make` on first use.
    @inlinable
    func sharedOperatorState<State: AnyObject>(named name: String, _ make: () -> State) -> State {
        if let state = sharedOperatorState[name] as? State { return state }
        let state = make()
        sharedOperatorState[name] = state
        return state
    }
    /// The budget of the stream thread's record caches; `nil`: stores do not cache.
    let recordCache: RecordCache?
    /// The largest event time the task has processed; never goes back. -1 before the first.
    @exclusivity(unchecked) @usableFromInline var streamTime: Int64 = -1
    /// Stream time as the expiry of the task's stores reads it from any thread; made by the
    /// first store with a time to live.
    @usableFromInline private(set) var publishedStreamTime: PublishedStreamTime?
    /// How far behind stream time processed records were, since ``takeLateness()``.
    @exclusivity(unchecked) @usableFromInline var lateness = LatenessSummary()
    /// The extractor of sources that name none.
    @usableFromInline let defaultTimestampExtractor: DefaultTimestampExtractor

    init(
        id: TaskID, applicationID: String, logger: Logger, clock: WallClock, collector: RecordCollector,
        defaultSerdes: DefaultSerdes, counters: ThreadCounters = ThreadCounters(), recordCache: RecordCache? = nil,
        defaultTimestampExtractor: DefaultTimestampExtractor = .recordTimestamp
    ) {
        self.defaultTimestampExtractor = defaultTimestampExtractor
        self.counters = counters
        self.recordCache = recordCache
        self.id = id
        self.applicationID = applicationID
        var logger = logger
        logger[metadataKey: "task"] = "\(id)"
        self.logger = logger
        self.clock = clock
        self.collector = collector
        self.defaultSerdes = defaultSerdes
    }

    /// A source node took this event time for the record being processed: it becomes the
    /// record's time, moves stream time on (never back) and counts the record's lateness.
    @inlinable
    func observe(eventTime: Int64) {
        if eventTime > streamTime {
            streamTime = eventTime
            publishedStreamTime?.publish(eventTime)
            lateness.count += 1
        } else {
            lateness.add(streamTime - eventTime)
        }
        if let current = currentRecord, current.timestamp != eventTime { currentRecord!.timestamp = eventTime }
    }

    /// Stream time published for the expiry of the task's stores.
    func streamTimeForExpiry() -> PublishedStreamTime {
        if let publishedStreamTime { return publishedStreamTime }
        let published = PublishedStreamTime()
        published.publish(streamTime)
        publishedStreamTime = published
        return published
    }

    /// The lateness summary since the last call, and a fresh one.
    func takeLateness() -> LatenessSummary {
        defer { lateness = LatenessSummary() }
        return lateness
    }

    /// The current record's context with the time and headers of the record a processor
    /// is handling (which an upstream node may have changed), so that a store's record
    /// cache keeps what that processor would have forwarded.
    func recordContext(timestamp: Int64, headers: [RecordHeader]) -> RecordContext {
        var current = currentRecord ?? RecordContext(topic: "", partition: -1, offset: -1, timestamp: timestamp, headers: headers)
        current.timestamp = timestamp
        current.headers = headers
        return current
    }

    /// Runs `body` with `record` as the current record (e.g. the one that made a cached
    /// write, while the cache sends it on), then puts the previous one back.
    func withCurrentRecord<T>(_ record: RecordContext?, _ body: () throws -> T) rethrows -> T {
        let saved = currentRecord
        defer { currentRecord = saved }
        currentRecord = record
        return try body()
    }

    func now(for type: PunctuationType) -> Int64 {
        switch type {
        case .streamTime: streamTime
        case .wallClockTime: clock.now()
        }
    }
}

/// Milliseconds since the epoch: the system clock, or a test driver's simulated one.
@usableFromInline
struct WallClock: Sendable {
    @usableFromInline let now: @Sendable () -> Int64

    static let system = WallClock { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// Counts of one stream thread's tasks since the thread last read them.
@usableFromInline
final class ThreadCounters {
    // Counted per record on the thread's own loop: no dynamic exclusivity check.
    @exclusivity(unchecked) var processed = 0
    var skipped = 0
    var deadLettered = 0
    /// Records processed while some input partition of their task had none buffered and
    /// the task had stopped waiting for it (``StreamsConfiguration/maxTaskIdle``).
    var enforcedProcessing = 0
    /// Records dropped because every window they belong to had closed.
    @usableFromInline var droppedLate = 0
    /// Records dropped as repeats by a deduplication.
    @usableFromInline var droppedDuplicates = 0
    /// Set when a processor asks for a commit.
    var commitRequested = false
    /// Tasks with wall-clock punctuations; the others need no visit per loop.
    var wallClockPunctuators = 0
}

/// How late processed records were (stream time − record time, 0 for a record that moved
/// stream time on): Kafka Streams' `record-lateness` average and maximum.
@usableFromInline
struct LatenessSummary {
    @usableFromInline var count = 0
    @usableFromInline var total: Int64 = 0
    @usableFromInline var maximum: Int64 = 0

    @usableFromInline init() {}

    @inlinable
    mutating func add(_ lateness: Int64) {
        count += 1
        total += lateness
        if lateness > maximum { maximum = lateness }
    }

    var average: Double { count == 0 ? 0 : Double(total) / Double(count) }
}
