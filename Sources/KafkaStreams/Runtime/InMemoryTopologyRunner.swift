import Foundation
import Logging
import RdKafka

/// Runs a topology synchronously without Kafka: the engine of `TopologyTestDriver`.
///
/// One task per sub-topology (partition 0). Outputs are kept per topic; those written to
/// a repartition topic are fed back to the sub-topology reading it once the record that
/// caused them is done, as Kafka would deliver them later.
package final class InMemoryTopologyRunner {
    package struct StoredRecord: Sendable {
        package var key: [UInt8]?
        package var value: [UInt8]?
        package var headers: [RecordHeader]
        package var timestamp: Int64

        package init(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader], timestamp: Int64) {
            self.key = key
            self.value = value
            self.headers = headers
            self.timestamp = timestamp
        }
    }

    private let applicationID: String
    private var tasksByTopic: [String: StreamTask] = [:]
    private var tasks: [StreamTask] = []
    /// Each sub-topology's level (see ``Topology/levels(of:)``).
    private var levels: [Int: Int] = [:]
    private let collector = MemoryCollector()
    private var offsets: [String: Int64] = [:]
    private let clockBox: ClockBox
    private let counters = ThreadCounters()
    /// Copies of the bytes of queued records, by lease (a task reading several topics
    /// queues its records until it may process them in event-time order).
    private var queuedBytes: [UInt: KeptBytes] = [:]
    private var nextLease: UInt = 1
    private let leases = RecordLeases()
    /// The global stores, and their typed views by name (every task may read them).
    private var global: GlobalStores?
    private var globalStores: [String: AnyObject] = [:]

    /// - Parameters:
    ///   - stateDirectory: where persistent stores live (`<dir>/<applicationID>/<task>`).
    ///   - recordCacheBytes: the record cache budget; caches are flushed after every record
    ///     (unless ``commitsAfterEveryRecord`` is turned off), so they change no output, but
    ///     the path is the one an application runs.
    ///   - holdsUpdatesAboveCache: whether windowed aggregations hold their updates above
    ///     the cache (see ``RecordCache/holdsUpdatesAbove``).
    package init(
        topology: Topology, applicationID: String, handlers: ErrorHandlers, defaultKeySerde: (any Serde)?,
        defaultValueSerde: (any Serde)?, wallClockStart: Int64, stateDirectory: String, recordCacheBytes: Int = 10 << 20,
        holdsUpdatesAboveCache: Bool = true, maxTaskIdle: Duration? = .zero, defaultTimestampExtractor: DefaultTimestampExtractor = .recordTimestamp,
        logger: Logger
    ) throws {
        self.applicationID = applicationID
        clockBox = ClockBox(wallClockStart)
        let clock = WallClock { [clockBox] in clockBox.value }
        let recordCache = recordCacheBytes > 0 ? RecordCache(maxBytes: recordCacheBytes, holdsUpdatesAbove: holdsUpdatesAboveCache) : nil
        let defaultSerdes = DefaultSerdes(key: defaultKeySerde, value: defaultValueSerde)
        try openGlobalStores(topology, directory: "\(stateDirectory)/\(applicationID)/global", defaultSerdes: defaultSerdes, logger: logger)
        let subtopologies = topology.subtopologies()
        levels = Topology.levels(of: subtopologies)
        for subtopology in subtopologies {
            let context = TaskContext(
                id: TaskID(subtopology: subtopology.id, partition: 0), applicationID: applicationID, logger: logger, clock: clock,
                collector: collector, defaultSerdes: DefaultSerdes(key: defaultKeySerde, value: defaultValueSerde),
                counters: counters, recordCache: recordCache, defaultTimestampExtractor: defaultTimestampExtractor)
            context.stores = globalStores
            let task = try StreamTask(
                subtopology: subtopology, topology: topology, context: context, handlers: handlers,
                stateDirectory: "\(stateDirectory)/\(applicationID)", resources: nil,
                queueing: QueueSettings(maxTaskIdle: maxTaskIdle, maxBufferedPerPartition: .max), leases: leases)
            tasks.append(task)
            for topic in task.inputTopics { tasksByTopic[topic] = task }
        }
        collector.internalTopics = Set(topology.internalTopics.keys.map { TopicName.internal($0).resolved(applicationID: applicationID) })
    }

    /// Processes one record of `topic`, then every record it sent to repartition topics;
    /// then commits, as Kafka Streams' test driver does after every record.
    package func pipe(topic: String, record: StoredRecord) throws {
        if let global, let update = global.updaters[topic] {
            // A global table's record is applied at once, as the global thread would.
            let offset = offsets[topic, default: 0]
            offsets[topic] = offset + 1
            try withOptionalBuffer(record.key) { key in
                try withOptionalBuffer(record.value) { value in
                    try update(PolledRecord(topic: topic, partition: 0, offset: offset, timestamp: record.timestamp, key: key, value: value, headers: record.headers))
                }
            }
            try global.commit()
            return
        }
        try deliver(topic: topic, record: record)
        try deliverRepartitioned()
        if commitsAfterEveryRecord { try commitStores() }
    }

    /// Whether ``pipe(topic:record:)`` commits after each record, as Kafka Streams' test
    /// driver does; when not, the caller commits (``commit()``), so caches coalesce updates
    /// between commits as in an application.
    package var commitsAfterEveryRecord = true

    /// Commits the tasks now (see ``commitsAfterEveryRecord``).
    package func commit() throws { try commitStores() }

    /// The typed view of the store called `name`, from whichever task has it.
    package func store(named name: String) -> AnyObject? {
        globalStores[name] ?? tasks.lazy.compactMap { $0.context.stores[name] }.first
    }

    /// Whether some source (or global store) reads `topic`.
    package func reads(_ topic: String) -> Bool { tasksByTopic[topic] != nil || global?.updaters[topic] != nil }

    /// Takes the records written to `topic` so far, oldest first.
    package func drain(_ topic: String) -> [StoredRecord] { collector.drain(topic) }

    /// Moves the simulated wall clock and runs the wall-clock punctuations now due.
    package func advanceWallClock(byMilliseconds milliseconds: Int64) throws {
        clockBox.value += milliseconds
        for task in tasks { try task.punctuate(.wallClockTime, at: clockBox.value) }
        // Tasks waiting for an empty input may have waited long enough now.
        for task in tasks where task.queuedCount > 0 { try processQueued(task) }
        try deliverRepartitioned()
        try commitStores()
    }

    package var wallClock: Int64 { clockBox.value }

    /// Ends the input: level by level, each task processes what it has queued and finishes
    /// (final window results), and what that sends through repartition topics is processed
    /// before the next level finishes.
    package func finishInput() throws {
        for task in tasks.sorted(by: { (levels[$0.id.subtopology] ?? 0, $0.id) < (levels[$1.id.subtopology] ?? 0, $1.id) }) {
            for input in task.inputTopics { task.reachedEnd(of: input) }
            if task.queuedCount > 0 { try processQueued(task) }
            try task.finishInput()
            try deliverRepartitioned()
            try commitStores()
        }
    }

    /// Records waiting in tasks' queues for an input topic that has none.
    package var queuedCount: Int { tasks.reduce(0) { $0 + $1.queuedCount } }

    /// Records skipped by `.continue` and `.deadLetter` handlers.
    package var skippedCount: Int { counters.skipped }

    package func close() {
        for task in tasks { task.close() }
        global?.close()
        releaseLeases()
    }

    /// Opens the global stores, which every task may read.
    private func openGlobalStores(_ topology: Topology, directory: String, defaultSerdes: DefaultSerdes, logger: Logger) throws {
        guard !topology.globalStores.isEmpty else { return }
        let context = TaskContext(
            id: GlobalStateThread.task, applicationID: applicationID, logger: logger, clock: WallClock { [clockBox] in clockBox.value },
            collector: collector, defaultSerdes: defaultSerdes, counters: counters)
        let opened = try GlobalStores(topology, context: context, directory: directory, resources: nil)
        global = opened
        globalStores = opened.typed
    }

    /// Commits as a stream thread does (``CommitSequence``), with outputs and changelog
    /// records acknowledged at once; then processes what the flush sent through repartition
    /// topics, which may fill caches downstream, and commits again, until nothing moves.
    private func commitStores() throws {
        repeat {
            try CommitSequence.run(tasks) { _, checkpoint in
                try checkpoint()
                return true
            }
        } while try deliverRepartitioned()
    }

    /// Processes what went to repartition topics, and what that sent on, until none is left;
    /// returns whether there was any.
    @discardableResult
    private func deliverRepartitioned() throws -> Bool {
        var delivered = false
        while let (internalTopic, next) = collector.takeInternal() {
            try deliver(topic: internalTopic, record: next)
            delivered = true
        }
        return delivered
    }

    private func deliver(topic: String, record: StoredRecord) throws {
        let offset = offsets[topic, default: 0]
        offsets[topic] = offset + 1
        guard let task = tasksByTopic[topic] else { return }
        if task.queuesRecords {
            try enqueue(record, topic: topic, offset: offset, into: task)
            return
        }
        try withOptionalBuffer(record.key) { key in
            try withOptionalBuffer(record.value) { value in
                try task.process(PolledRecord(
                    topic: topic, partition: 0, offset: offset, timestamp: record.timestamp, key: key, value: value,
                    headers: record.headers))
            }
        }
    }
}

extension InMemoryTopologyRunner {
    /// Queues a record of a task that reads several topics, then processes what the task
    /// may. Everything piped is "fetched": every input counts as read to its end, so the
    /// task waits only for ``StreamsConfiguration/maxTaskIdle`` of simulated wall-clock time
    /// for an empty one, as in Kafka Streams' test driver.
    private func enqueue(_ record: StoredRecord, topic: String, offset: Int64, into task: StreamTask) throws {
        let lease = nextLease
        nextLease += 1
        let bytes = KeptBytes(key: record.key, value: record.value)
        queuedBytes[lease] = bytes
        _ = try task.enqueue(PolledRecord(
            topic: topic, partition: 0, offset: offset, timestamp: record.timestamp, key: bytes.key, value: bytes.value,
            headers: record.headers, lease: lease))
        for input in task.inputTopics { task.reachedEnd(of: input) }
        try processQueued(task)
    }

    private func processQueued(_ task: StreamTask) throws {
        defer { releaseLeases() }
        _ = try task.processQueued(now: clockBox.value)
    }

    private func releaseLeases() {
        for lease in leases.take() { queuedBytes.removeValue(forKey: lease)?.free() }
    }
}

/// The simulated clock, shared with task contexts (all on the caller's thread).
private final class ClockBox: @unchecked Sendable {
    var value: Int64
    init(_ value: Int64) { self.value = value }
}

private final class MemoryCollector: RecordCollector {
    var internalTopics: Set<String> = []
    private var outputs: [String: [InMemoryTopologyRunner.StoredRecord]] = [:]
    private var pendingInternal: [(String, InMemoryTopologyRunner.StoredRecord)] = []
    private var changelogOffsets: [TopicPartition: Int64] = [:]

    func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader],
        timestamp: Int64, source: () -> SourceCoordinates?
    ) throws {
        let record = InMemoryTopologyRunner.StoredRecord(key: key.map { Array($0) }, value: value.map { Array($0) }, headers: headers, timestamp: timestamp)
        if internalTopics.contains(topic) {
            pendingInternal.append((topic, record))
        } else {
            outputs[topic, default: []].append(record)
        }
    }

    /// Changelog records are acknowledged at once, with offsets counted per partition.
    func sendChange(
        topic: String, partition: Int32, key: [UInt8], value: [UInt8]?, timestamp: Int64, tracker: ChangelogTracker
    ) throws {
        let offset = changelogOffsets[TopicPartition(topic: topic, partition: partition), default: 0]
        changelogOffsets[TopicPartition(topic: topic, partition: partition)] = offset + 1
        outputs[topic, default: []].append(InMemoryTopologyRunner.StoredRecord(key: key, value: value, headers: [], timestamp: timestamp))
        tracker.acknowledged(offset)
    }

    func takeInternal() -> (String, InMemoryTopologyRunner.StoredRecord)? {
        pendingInternal.isEmpty ? nil : pendingInternal.removeFirst()
    }

    func drain(_ topic: String) -> [InMemoryTopologyRunner.StoredRecord] {
        defer { outputs[topic] = nil }
        return outputs[topic] ?? []
    }
}

func withOptionalBuffer<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}
