import Foundation
import Logging

/// The state a task's processors share: the record being processed, stream time, the
/// clock, punctuations, where outputs go. One per task, used on its stream thread only.
@usableFromInline
final class TaskContext {
    let id: TaskID
    @usableFromInline let applicationID: String
    let logger: Logger
    let clock: WallClock
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
    /// The budget of the stream thread's record caches; `nil`: stores do not cache.
    let recordCache: RecordCache?
    @exclusivity(unchecked) var streamTime: Int64 = -1

    init(
        id: TaskID, applicationID: String, logger: Logger, clock: WallClock, collector: RecordCollector,
        defaultSerdes: DefaultSerdes, counters: ThreadCounters = ThreadCounters(), recordCache: RecordCache? = nil
    ) {
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
struct WallClock: Sendable {
    let now: @Sendable () -> Int64

    static let system = WallClock { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// Counts of one stream thread's tasks since the thread last read them.
final class ThreadCounters {
    // Counted per record on the thread's own loop: no dynamic exclusivity check.
    @exclusivity(unchecked) var processed = 0
    var skipped = 0
    var deadLettered = 0
    /// Set when a processor asks for a commit.
    var commitRequested = false
    /// Tasks with wall-clock punctuations; the others need no visit per loop.
    var wallClockPunctuators = 0
}
