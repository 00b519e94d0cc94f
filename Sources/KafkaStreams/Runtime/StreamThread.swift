import Foundation
import Logging
import Metrics
import RdKafka
import RocksDB
import Synchronization

/// One stream thread: a dedicated OS thread owning a consumer (a group member), a
/// producer and the tasks of the partitions assigned to it. Records are processed
/// synchronously in the poll loop; rebalance events arrive inside `poll` on this thread.
///
/// Commits happen on every commit interval, on request, when partitions are revoked, and
/// on shutdown. At-least-once: flush the record caches, flush the producer (every output
/// acknowledged), write the stores with the changelog offsets they reach, then commit the
/// offsets after the last processed record of each partition. Exactly-once: see
/// `StreamThread+Transactions.swift`.
final class StreamThread: @unchecked Sendable {
    // Everything below `stopRequested` is touched only on the thread itself.
    let name: String
    /// The name the OS shows (`top -H`, perf, gdb). It drops the client id: Linux keeps 15
    /// bytes, and the index is what tells a process's threads apart (logs and metrics
    /// carry the full name).
    let systemThreadName: String
    let plan: ExecutionPlan
    let configuration: StreamsConfiguration
    let logger: Logger
    let metrics: StreamsMetrics
    private let stopRequested = Atomic<Bool>(false)
    let crashRequested = Atomic<Bool>(false)
    let published = Mutex<Set<TaskID>>([])
    /// Whether the group has given the thread an assignment (empty or not) since it joined
    /// and its tasks have been created and restored; read by ``StreamsApp`` too.
    let hasRestoredAssignment = Atomic<Bool>(false)

    let clients: any ClientFactory
    /// Stable across restarts of the instance (`<applicationID>-<processID>-<index>`), so
    /// a restarted thread fences its predecessor; nil under at-least-once.
    let transactionalID: String?
    var consumer: (any StreamsConsumer)?
    var collector: ProducerRecordCollector?
    /// The producer, when it writes in transactions.
    var transactions: (any StreamsTransactionalProducer)?
    /// Transactions aborted since the last commit that succeeded.
    var abortsInARow = 0
    /// Every partition the group gave this thread.
    var assigned: Set<TopicPartition> = []
    var tasks: [TaskID: StreamTask] = [:]
    /// The tasks in id order: commits visit them in the same order every time.
    var orderedTasks: [StreamTask] = []
    var taskByPartition: [TopicPartition: StreamTask] = [:]
    /// Read per record on this thread only: no dynamic exclusivity check.
    /// `end`: the bounded run's end of the partition (`Int64.max` when there is none).
    @exclusivity(unchecked) var lastRouted: (topic: String, partition: Int32, task: StreamTask, end: Int64)?
    var rebalanceFailure: (any Error)?
    /// The leases of queued records processed or dropped, released to the consumer after
    /// each poll (and before it closes).
    let leases = RecordLeases()
    /// Tasks that queue records (they read several partitions), in id order.
    var queueingTasks: [StreamTask] = []
    /// A failure met while processing queued records inside a poll's callback, after the
    /// record that triggered it was queued (and so kept): thrown once the callback can
    /// refuse a record instead.
    private var deferredFailure: (any Error)?
    /// When the last commit happened, in milliseconds on the clients' clock.
    var lastCommit: Int64 = 0
    /// Set when a commit failed before its offsets were committed (outputs not delivered,
    /// a record cache or a node downstream of it failed, a store could not be written):
    /// from then on no offset may be committed, since some processed records may have no
    /// output. Cleared when an abort drops everything since the last commit.
    var commitFailed = false
    let counters = ThreadCounters()
    let recordCache: RecordCache?
    let resources: RocksDBResources?
    let registry: LocalStoreRegistry
    /// The instance's global stores, which every task may read.
    let globalStores: [String: AnyObject]
    /// In a bounded run, the offset each source partition (repartition topics aside) is
    /// read up to: a record at or past it is left unprocessed and its partition paused.
    let inputEnds: [TopicPartition: Int64]?
    /// Partitions paused at their bounded run's end.
    var pausedAtEnd: Set<TopicPartition> = []
    /// In a bounded run that closes its windows at the end, what the monitor asks for.
    let inputFinish: InputFinish?
    /// The tasks this thread has finished (their input ended) and committed since.
    var finishedTasks: Set<TaskID> = []
    /// The highest level of ``inputFinish`` this thread has acknowledged.
    var finishedLevel = -1
    /// Until the thread has an assignment it cannot know which tasks it is to finish.
    var hasAssignment: Bool { hasRestoredAssignment.load(ordering: .relaxed) }
    /// The lag gauge of each assigned partition, set at every commit.
    var lagGauges: [TopicPartition: Gauge] = [:]
    var restorer: StoreRestorer?
    /// The application's pause switch, and whether this thread's partitions are paused
    /// in its consumer for it.
    let pause: ProcessingPause
    var processingPaused = false

    /// - Parameter clientID: unique per application instance, as in Kafka Streams
    ///   (`<applicationID>-<instance>`), so the threads of two instances can be told apart.
    init(
        index: Int, clientID: String, plan: ExecutionPlan, configuration: StreamsConfiguration, resources: RocksDBResources?,
        registry: LocalStoreRegistry, globalStores: [String: AnyObject] = [:], inputEnds: [TopicPartition: Int64]? = nil,
        inputFinish: InputFinish? = nil, pause: ProcessingPause = ProcessingPause(), logger: Logger
    ) {
        self.pause = pause
        self.inputFinish = inputFinish
        self.globalStores = globalStores
        self.inputEnds = inputEnds
        name = Self.name(index: index, clientID: clientID)
        systemThreadName = "StreamThread-\(index)"
        clients = configuration.clients.factory
        transactionalID = configuration.processingGuarantee == .exactlyOnce ? "\(clientID)-\(index)" : nil
        self.plan = plan
        self.configuration = configuration
        self.resources = resources
        self.registry = registry
        recordCache = configuration.recordCacheBudget()
        var logger = logger
        logger[metadataKey: "thread"] = "\(name)"
        self.logger = logger
        metrics = StreamsMetrics(applicationID: configuration.applicationID, thread: name)
    }

    /// The thread's name, in logs and in the client ids of its consumer and producer.
    static func name(index: Int, clientID: String) -> String { "\(clientID)-StreamThread-\(index)" }

    /// Starts the thread; `onExit` runs on it when it ends (with the error that stopped it).
    func start(onExit: @escaping @Sendable ((any Error)?) -> Void) {
        startThread(named: systemThreadName) { [self] in
            do {
                try run()
                onExit(nil)
            } catch {
                onExit(error)
            }
        }
    }

    /// The tasks the thread runs now (readable from any thread).
    var activeTasks: Set<TaskID> { published.withLock { $0 } }

    /// Asks the thread to commit and stop after its current batch.
    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Makes the thread stop as if its process died: no final commit or flush, queued
    /// outputs purged, stores closed with their uncommitted writes dropped. For tests of
    /// what survives a crash.
    func simulateCrash() {
        crashRequested.store(true, ordering: .releasing)
        stopRequested.store(true, ordering: .releasing)
    }

    private func run() throws {
        Database.disablePerformanceCountersOnCurrentThread()
        restorer = StoreRestorer(configuration: configuration, clients: clients, logger: logger, restored: metrics.restored)
        defer {
            restorer?.close()
            restorer = nil
        }
        while true {
            do {
                try runAsMember()
                return
            } catch let error as ProducerFenced {
                // Another producer took over this thread's transactional id, or the group
                // moved on without this member: what this thread holds is stale.
                if stopRequested.load(ordering: .acquiring) { throw error.underlying }
                logger.warning("\(error.underlying): closing tasks without a commit, rejoining with a new producer")
            }
        }
    }

    /// One membership of the group: a producer and a consumer, from joining to leaving.
    private func runAsMember() throws {
        // A failure of the previous membership (a fence met in a rebalance) is dealt with.
        rebalanceFailure = nil
        abortsInARow = 0
        commitFailed = false
        let producer: any StreamsProducer
        if let transactionalID {
            let transactional = try clients.makeTransactionalProducer(
                configuration: configuration.producerConfiguration(clientID: "\(name)-producer", transactionalID: transactionalID), logger: logger)
            transactions = transactional
            producer = transactional
        } else {
            producer = try clients.makeProducer(configuration: configuration.producerConfiguration(clientID: "\(name)-producer"), logger: logger)
        }
        let collector = ProducerRecordCollector(
            producer: producer, transactional: transactionalID != nil, policy: configuration.errorHandlers.production, logger: logger)
        self.collector = collector
        var crashed = false
        defer {
            // Leaving the group revokes partitions; with no collector that commits nothing
            // (the final commit, if any, is done; a fenced or crashed thread must not).
            self.collector = nil
            closeTasks(tasks.keys)
            releaseLeases()
            try? consumer?.close()
            producer.close(timeout: crashed || crashRequested.load(ordering: .acquiring) ? .zero : configuration.flushTimeout)
            consumer = nil
            transactions = nil
            assigned = []
            hasRestoredAssignment.store(false, ordering: .releasing)
            pausedAtEnd = []
            forgetLag(of: Array(lagGauges.keys))
        }
        do {
            try initTransactions()
            let consumer = try clients.makeGroupConsumer(
                configuration: configuration.consumerConfiguration(clientID: "\(name)-consumer"), logger: logger,
                onRebalance: { [unowned self] event in self.rebalanced(event) })
            self.consumer = consumer
            lastCommit = clients.currentTimeMilliseconds()
            try consumer.subscribe(plan.sourceTopics)
            logger.info("started", metadata: ["topics": "\(plan.sourceTopics)"])
            try pollLoop(consumer)
            if crashRequested.load(ordering: .acquiring) {
                logger.warning("stopping without a commit (simulated crash)")
                return
            }
            try commit(reason: "shutdown")
        } catch {
            if Self.isCrash(error) {
                crashed = true
                throw error
            }
            if error is ProducerFenced { throw error }
            if transactions != nil {
                // Exactly-once: nothing of the failed record, nor of what came since the last
                // commit, may become visible; a restart resumes from the last commit.
                abortAfterFailure(error)
            } else if !commitFailed {
                // At-least-once: keep what was processed before a bad record, so a restart
                // resumes at it; never after a failed flush, or inputs whose outputs were
                // lost would count as done.
                do { try commit(reason: "failure") } catch { logger.error("final commit failed: \(error)") }
            }
            throw error
        }
        logger.info("stopped")
    }

    /// Whether `error` says this process is dead: then nothing may be cleaned up.
    static func isCrash(_ error: any Error) -> Bool {
        if error is any ProcessCrash { return true }
        if let failure = error as? ClientFailure { return failure.underlying is any ProcessCrash }
        if let error = error as? StreamsError, let underlying = error.underlying { return isCrash(underlying) }
        return false
    }

    private func pollLoop(_ consumer: any StreamsConsumer) throws {
        while !stopRequested.load(ordering: .acquiring) {
            do {
                try pollOnce(consumer)
            } catch {
                // Under exactly-once a failed transaction is aborted and the thread goes on
                // from the last commit; anything else stops it.
                guard let failure = abortableFailure(in: error) else { throw error }
                try recover(from: failure)
            }
        }
    }

    private func pollOnce(_ consumer: any StreamsConsumer) throws {
        let paused = pause.isPaused
        if paused != processingPaused { try setProcessingPaused(paused) }
        let pollStart = ContinuousClock.now
        var consumed = 0
        var processStart = pollStart
        defer {
            // Thrown by now (by the callback, or below), as the record it stopped the poll at.
            deferredFailure = nil
            releaseLeases()
        }
        let polled = try consumer.poll(maxRecords: configuration.maxPollRecords, timeout: configuration.pollTimeout, keeping: { message in
            if consumed == 0 {
                metrics.pollLatency.record(since: pollStart)
                processStart = ContinuousClock.now
            }
            consumed += 1
            return try process(message)
        }, endOfPartition: { partition in taskByPartition[partition]?.reachedEnd(of: partition.topic) })
        if let failure = deferredFailure ?? rebalanceFailure { throw failure }
        if !queueingTasks.isEmpty && !paused { try processQueued(now: clients.currentTimeMilliseconds()) }
        // An empty poll is time spent waiting for records too: idle or starved threads
        // show there.
        if polled > 0 { metrics.processLatency.record(since: processStart) } else { metrics.pollLatency.record(since: pollStart) }
        let now = clients.currentTimeMilliseconds()
        if counters.wallClockPunctuators > 0 && !paused {
            for task in orderedTasks { try task.punctuate(.wallClockTime, at: now) }
        }
        reportCounts(consumed: polled)
        let commitRequested = counters.commitRequested
        if commitRequested || now - lastCommit >= configuration.commitInterval.wholeMilliseconds {
            try commit(reason: commitRequested ? "requested" : "interval")
        } else if polled == 0, let inputEnds, processedToEnds(inputEnds), orderedTasks.contains(where: { !$0.uncommittedOffsets.isEmpty }) {
            // A bounded run is over when the group's commits reach the ends: commit as soon
            // as the input is done rather than a commit interval later (and after that, as
            // each batch from the repartition topics is).
            try commit(reason: "input processed")
        }
        if let inputFinish, hasAssignment, !paused, case let level = inputFinish.requestedLevel, level >= 0,
            level > finishedLevel || orderedTasks.contains(where: { !finishedTasks.contains($0.id) && inputFinish.level(of: $0.id) <= level })
        {
            try finishInput(through: level, inputFinish)
        }
    }

    /// Finishes the input of this thread's tasks up to `level` (final window results go
    /// out), commits them with their ``FinishMark``s, and tells the monitor. A task a
    /// failed transaction reopened meanwhile is finished again at the next poll (its first
    /// finish was aborted with it), and so is one a rebalance brought here after the level
    /// was asked for (its finish elsewhere may not have committed).
    private func finishInput(through level: Int, _ finish: InputFinish) throws {
        guard let consumer else { return }
        var finishing: [StreamTask] = []
        for task in orderedTasks where !finishedTasks.contains(task.id) && finish.level(of: task.id) <= level {
            try task.finishInput()
            task.markFinished(at: try finishMarkOffset(of: task, consumer: consumer))
            finishing.append(task)
        }
        try commit(reason: "input finished")
        guard !commitFailed, finishing.allSatisfy({ tasks[$0.id] === $0 }) else { return }
        finishedTasks.formUnion(finishing.map(\.id))
        finishedLevel = level
        finish.acknowledge(level, thread: name, tasks: finishedTasks)
    }

    /// Where a finished task's mark is committed: after its last record processed here; for
    /// a task that processed none here (its input was done by another member), at the
    /// group's committed offset, or else at the partition's first offset (nothing was ever
    /// committed: an empty partition).
    private func finishMarkOffset(of task: StreamTask, consumer: any StreamsConsumer) throws -> Int64 {
        guard let topic = task.markingTopic else { return 0 }
        let next = task.nextOffset(of: topic)
        if next >= 0 { return next }
        let partition = TopicPartition(topic: topic, partition: task.id.partition)
        if let committed = try consumer.committed([partition], timeout: .seconds(10)).first?.offset, committed >= 0 { return committed }
        return try consumer.queryWatermarks(topic: topic, partition: partition.partition, timeout: .seconds(10)).low
    }

    /// Whether every source partition of a bounded run this thread has processed records
    /// of is processed to its end. (One it has none of yet counts as done: at worst that
    /// costs an early commit.)
    private func processedToEnds(_ ends: [TopicPartition: Int64]) -> Bool {
        taskByPartition.allSatisfy { partition, task in
            guard let end = ends[partition] else { return true }
            let next = task.nextOffset(of: partition.topic)
            return next < 0 || next >= end
        }
    }

    /// Processes a polled record, or queues it when its task reads several partitions;
    /// returns whether it was queued (kept).
    private func process(_ message: PolledRecord) throws -> Bool {
        // After a failure the record is refused (not kept, not processed), which ends the poll.
        if let deferredFailure { throw deferredFailure }
        let task: StreamTask
        let end: Int64
        if let last = lastRouted, last.partition == message.partition, last.topic == message.topic {
            (task, end) = (last.task, last.end)
        } else {
            let partition = TopicPartition(topic: message.topic, partition: message.partition)
            guard let found = taskByPartition[partition] else {
                logger.warning("record of unassigned partition \(message.topic)[\(message.partition)] ignored")
                return false
            }
            (task, end) = (found, inputEnds?[partition] ?? .max)
            lastRouted = (message.topic, message.partition, found, end)
        }
        if message.offset >= end {
            try pauseAtEnd(TopicPartition(topic: message.topic, partition: message.partition))
            return false
        }
        guard task.queuesRecords else {
            try task.process(message)
            return false
        }
        let full = try task.enqueue(message)
        // The record is queued, so kept: from here on a failure waits for the next record.
        do {
            if let full { try consumer?.pause([full]) }
            // While every partition has a record, the next in event-time order is known:
            // process it now, keeping queues short.
            if task.allInputsBuffered { try resume(task.processQueued(now: nil)) }
        } catch {
            deferredFailure = error
        }
        return true
    }

    /// Stops reading a partition that reached its bounded run's end: records after it are
    /// for a later run (their offsets are never committed by this one).
    private func pauseAtEnd(_ partition: TopicPartition) throws {
        guard pausedAtEnd.insert(partition).inserted else { return }
        try consumer?.pause([partition])
        logger.debug("\(partition) read to its bounded run's end")
    }

    /// Pauses or resumes every partition of the thread's tasks in the consumer. Paused,
    /// the consumer fetches nothing (records it had fetched are dropped and read again on
    /// resume) yet keeps polling, so the thread stays in its group and takes part in
    /// rebalances.
    private func setProcessingPaused(_ paused: Bool) throws {
        let partitions = Array(taskByPartition.keys)
        if paused {
            try consumer?.pause(partitions)
        } else {
            // Partitions paused for their own reasons (a full queue, a bounded run's end)
            // stay paused.
            let held = Set(orderedTasks.flatMap(\.fullPartitions))
            try resume(partitions.filter { !held.contains($0) })
        }
        processingPaused = paused
        logger.info(paused ? "processing paused" : "processing resumed")
    }

    /// Processes what the queueing tasks may process at wall-clock time `now`.
    private func processQueued(now: Int64) throws {
        for task in queueingTasks where task.queuedCount > 0 {
            try resume(task.processQueued(now: now))
        }
    }

    private func resume(_ partitions: [TopicPartition]) throws {
        // A partition at its bounded run's end stays paused when its queue drains.
        let partitions = pausedAtEnd.isEmpty ? partitions : partitions.filter { !pausedAtEnd.contains($0) }
        guard !partitions.isEmpty else { return }
        try consumer?.resume(partitions)
    }

    /// Hands the leases of processed and dropped queued records back to the consumer.
    func releaseLeases() {
        let taken = leases.take()
        guard !taken.isEmpty else { return }
        consumer?.release(taken)
    }

    private func reportCounts(consumed: Int) {
        if consumed > 0 { metrics.consumed.increment(by: consumed) }
        var skipped = counters.skipped
        if counters.processed > 0 { metrics.processed.increment(by: counters.processed) }
        counters.processed = 0
        counters.skipped = 0
        if let collector {
            skipped += collector.skippedCount
            if collector.sentCount > 0 { metrics.produced.increment(by: collector.sentCount) }
            collector.sentCount = 0
            collector.skippedCount = 0
        }
        if skipped > 0 { metrics.skipped.increment(by: skipped) }
        if counters.droppedLate > 0 {
            metrics.droppedLate.increment(by: counters.droppedLate)
            counters.droppedLate = 0
        }
        if counters.droppedDuplicates > 0 {
            metrics.droppedDuplicates.increment(by: counters.droppedDuplicates)
            counters.droppedDuplicates = 0
        }
        if counters.enforcedProcessing > 0 {
            metrics.enforcedProcessing.increment(by: counters.enforcedProcessing)
            counters.enforcedProcessing = 0
        }
        for task in orderedTasks { task.reportLateness() }
    }

    // MARK: Commit

    /// Sends what the record caches hold on, then commits (``CommitSequence``): in a
    /// transaction under exactly-once, else by flushing the producer and committing
    /// offsets. Under at-least-once a commit that fails before its offsets are committed
    /// blocks every later one (see ``commitFailed``).
    func commit(reason: String) throws {
        guard let consumer, let collector else { return }
        guard !commitFailed else { return }
        // The interval runs from the end of a commit, as in Kafka Streams: a slow commit
        // (a long flush) does not eat into the processing time before the next one.
        defer { lastCommit = clients.currentTimeMilliseconds() }
        counters.commitRequested = false
        let start = ContinuousClock.now
        do {
            try CommitSequence.run(orderedTasks, beforeCheckpoint: { try clients.crashPoint("checkpoint \($0.id)") }) { offsets, checkpoint in
                if let transactions {
                    return try commitTransaction(
                        transactions, offsets: offsets, consumer: consumer, collector: collector, reason: reason, checkpoint: checkpoint)
                }
                return try commitOffsets(offsets, consumer: consumer, collector: collector, reason: reason, checkpoint: checkpoint)
            }
        } catch {
            // Under exactly-once the abort that follows clears it.
            commitFailed = true
            throw error
        }
        metrics.commitLatency.record(since: start)
        reportLag()
    }

    /// Sets each assigned partition's lag gauge: its end as last fetched, less the offset
    /// after its last record processed (or, before the first, the consumer's position).
    private func reportLag() {
        guard let consumer else { return }
        for (partition, task) in taskByPartition {
            guard let end = consumer.cachedEndOffset(partition) else { continue }
            var next = task.nextOffset(of: partition.topic)
            if next < 0, let position = try? consumer.position([partition]).first?.offset { next = position }
            guard next >= 0 else { continue }
            let gauge = lagGauges[partition] ?? metrics.lag(of: partition)
            lagGauges[partition] = gauge
            gauge.record(max(0, end - next))
        }
    }

    /// Drops the lag gauges of partitions this thread no longer has.
    func forgetLag(of partitions: [TopicPartition]) {
        for partition in partitions { lagGauges.removeValue(forKey: partition)?.destroy() }
    }

    /// At-least-once: flushes the producer, checkpoints the stores (every change is in its
    /// changelog now), then commits the offsets. A commit the broker refuses for now (a
    /// rebalance) is logged and retried next time: at-least-once allows the records to be
    /// processed again.
    private func commitOffsets(
        _ offsets: [TopicPartitionOffset], consumer: any StreamsConsumer, collector: ProducerRecordCollector, reason: String,
        checkpoint: () throws -> Void
    ) throws -> Bool {
        try collector.flush(timeout: configuration.flushTimeout)
        try checkpoint()
        guard !offsets.isEmpty else { return false }
        do {
            try consumer.commit(offsets)
            logger.debug("committed (\(reason))", metadata: ["offsets": "\(offsets)"])
            return true
        } catch {
            if Self.isCrash(error) { throw error }
            if (error as? KafkaError)?.classification == .fatal { throw StreamsError(.commit, "offset commit failed", underlying: error) }
            logger.warning("offset commit (\(reason)) failed, will retry: \(error)")
            return false
        }
    }
}
