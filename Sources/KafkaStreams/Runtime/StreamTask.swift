import Logging
import RocksDB
import RdKafka

/// One sub-topology's processors for one partition: routes input records to its sources,
/// applies the error handlers, keeps stream time and the offsets it may commit.
final class StreamTask {
    let id: TaskID
    let context: TaskContext
    private let handlers: ErrorHandlers
    /// One entry per source topic; a task rarely reads more than a few, so a linear scan
    /// (which usually stops at the first, identical string) beats hashing per record.
    /// Read per record on the task's thread only, never while another access is open: no
    /// dynamic exclusivity check.
    @exclusivity(unchecked) private var inputs: [Input] = []
    private var closables: [ClosableNode] = []
    /// The task's state stores (empty for a stateless sub-topology).
    let stores: TaskStores
    /// Set by a stream thread (the test driver keeps none).
    var metrics: TaskMetrics? {
        didSet { context.punctuations.latency = metrics?.punctuateLatency }
    }

    /// The input queues, when the task reads more than one partition; `nil`: each record
    /// is processed as it is polled.
    private let group: PartitionGroup?
    /// Where the leases of queued records go once they are processed or dropped.
    private let leases: RecordLeases

    private struct Input {
        let topic: String
        let source: SourceEntry
        /// The offset after the last record handled (what a commit stores), or -1.
        var nextOffset: Int64 = -1
        var committedOffset: Int64 = -1
    }

    /// - Parameters:
    ///   - stateDirectory: `<stateDir>/<applicationId>`, where the task's stores live.
    ///   - resources: the RocksDB memory budget shared by the application's stores.
    ///   - queueing: how a task with several input partitions buffers and waits.
    ///   - leases: collects the leases of queued records, for the consumer to release.
    init(
        subtopology: Subtopology, topology: Topology, context: TaskContext, handlers: ErrorHandlers,
        stateDirectory: String, resources: RocksDBResources?, queueing: QueueSettings = QueueSettings(), leases: RecordLeases = RecordLeases()
    ) throws {
        id = context.id
        self.context = context
        self.handlers = handlers
        self.leases = leases
        stores = try Self.makeStores(subtopology: subtopology, topology: topology, context: context, stateDirectory: stateDirectory, resources: resources)
        do {
            try Self.makeNodes(subtopology: subtopology, topology: topology, context: context, into: &inputs, closables: &closables)
        } catch {
            stores.close()
            throw error
        }
        let partition = context.id.partition
        let topics = inputs.map(\.topic)
        group = topics.count < 2 ? nil : PartitionGroup(
            partitions: topics.indices.map { (TopicPartition(topic: topics[$0], partition: partition), input: $0) },
            maxTaskIdle: queueing.maxTaskIdle.map(\.wholeMilliseconds), maxBufferedPerPartition: queueing.maxBufferedPerPartition)
    }

    private static func makeStores(
        subtopology: Subtopology, topology: Topology, context: TaskContext, stateDirectory: String, resources: RocksDBResources?
    ) throws -> TaskStores {
        let definitions = subtopology.storeNames.compactMap { topology.stores[$0] }
        guard !definitions.isEmpty else { return TaskStores(instances: [], lock: nil) }
        let directory = "\(stateDirectory)/\(context.id)"
        // Only persistent stores need the directory; the lock guards them.
        let lock = definitions.contains(where: \.persistent) ? try StateDirectoryLock(directory: directory) : nil
        var instances: [StoreInstance] = []
        do {
            for definition in definitions {
                let instance = try definition.make(StoreCreation(task: context, directory: directory, resources: resources))
                instances.append(instance)
                context.stores[definition.name] = instance.typed
            }
        } catch {
            TaskStores(instances: instances, lock: lock).close()
            throw error
        }
        return TaskStores(instances: instances, lock: lock)
    }

    private static func makeNodes(
        subtopology: Subtopology, topology: Topology, context: TaskContext, into inputs: inout [Input], closables: inout [ClosableNode]
    ) throws {
        var contexts: [String: AnyObject] = [:]
        var runtimeNodes: [String: RuntimeNode] = [:]
        let definitions = subtopology.nodeNames.compactMap(topology.node(named:))
        for node in definitions {
            let nodeContext = node.makeContext?(context, node.name, node.sendsOldValues)
            contexts[node.name] = nodeContext
            runtimeNodes[node.name] = try node.makeNode(nodeContext, context)
        }
        for node in definitions {
            for child in node.children {
                guard let attach = node.attachChild, let nodeContext = contexts[node.name], let childNode = runtimeNodes[child] else { continue }
                try attach(nodeContext, childNode.entry, child)
            }
            if node.isSource, let source = runtimeNodes[node.name]?.entry as? SourceEntry {
                for topic in node.sourceTopics {
                    inputs.append(Input(topic: topic.resolved(applicationID: context.applicationID), source: source))
                }
            }
        }
        closables = definitions.compactMap { runtimeNodes[$0.name]?.closable }
    }

    /// Before the producer flush: sends what the stores' record caches hold downstream and
    /// to the changelogs. Errors of the nodes downstream stop the application, as in a
    /// punctuation: no single record is to blame.
    func flushCaches() throws {
        guard !stores.isEmpty else { return }
        do {
            try stores.flushCaches()
        } catch let error as NodeFailure {
            throw ProcessingError(node: error.node, source: nil, underlying: error.underlying)
        }
    }

    /// The input has ended: each processor forwards what waits for time to pass (final
    /// window results), upstream nodes first (nodes are kept in the order they were added,
    /// after their parents). Errors stop the application, as a punctuation's do.
    func finishInput() throws {
        do {
            try context.withCurrentRecord(nil) {
                for node in closables { try node.finishInput() }
            }
        } catch let error as NodeFailure {
            throw ProcessingError(node: error.node, source: nil, underlying: error.underlying)
        }
    }

    /// After the producer flush: makes the stores' writes durable with their changelog
    /// offsets.
    func checkpointStores() throws {
        guard !stores.isEmpty else { return }
        var next: [String: Int64] = [:]
        for input in inputs where input.nextOffset >= 0 { next[input.topic] = input.nextOffset }
        try stores.checkpoint(sourceOffsets: next)
    }

    /// The topics this task reads, with its partition.
    var inputTopics: [String] { inputs.map(\.topic) }

    /// Processes one input record. Throws only when an error handler says `.fail` (or for
    /// errors no handler covers); the record's offset then stays uncommitted.
    func process(_ raw: PolledRecord) throws {
        try process(raw, input: try inputIndex(of: raw.topic))
    }

    private func inputIndex(of topic: String) throws -> Int {
        guard let index = inputs.firstIndex(where: { $0.topic == topic }) else {
            throw StreamsError(.kafka, "task \(id) received a record of \(topic), which it does not read")
        }
        return index
    }

    private func process(_ raw: PolledRecord, input index: Int) throws {
        context.currentRecord = RecordContext(
            topic: raw.topic, partition: raw.partition, offset: raw.offset, timestamp: raw.timestamp, headers: raw.headers)
        defer { context.currentRecord = nil }
        do {
            try inputs[index].source.receive(raw)
            context.counters.processed += 1
        } catch let error as DeserializationError {
            try handle(error, with: handlers.deserialization, raw: raw)
        } catch let error as NodeFailure {
            try handle(ProcessingError(node: error.node, source: raw.coordinates, underlying: error.underlying), with: handlers.processing, raw: raw)
        } catch let error as SerializationFailure {
            try handle(ProductionError(topic: error.topic, source: raw.coordinates, underlying: error.underlying), with: handlers.production, raw: raw)
        } catch let error as ProductionError {
            try handle(error, with: handlers.production, raw: raw)
        }
        inputs[index].nextOffset = raw.offset + 1
        context.currentRecord = nil
        if !context.punctuations.isEmpty { try punctuate(.streamTime, at: context.streamTime) }
    }

    // MARK: Several input partitions

    /// Whether records wait in queues (the task reads several partitions) instead of being
    /// processed as they are polled.
    var queuesRecords: Bool { group != nil }

    /// The partitions paused because their queue passed its bound.
    var fullPartitions: [TopicPartition] { group?.queues.filter(\.paused).map(\.partition) ?? [] }

    /// Queues a polled record, whose bytes stay valid until its lease is released; returns
    /// its partition when the consumer should pause it (its queue is full).
    func enqueue(_ raw: PolledRecord) throws -> TopicPartition? {
        guard let group else { throw StreamsError(.kafka, "task \(id) reads one partition and queues nothing") }
        let index = try inputIndex(of: raw.topic)
        var record = raw
        var orderingTime = Int64.min
        if let time = try? inputs[index].source.eventTime(raw) {
            record.timestamp = time
            record.timestampExtracted = true
            orderingTime = time
        }
        return group.add(QueuedRecord(record: record, orderingTime: orderingTime), to: index) ? group.queues[index].partition : nil
    }

    /// Processes queued records in event-time order for as long as the task may: while
    /// every partition has one, and, when `now` (wall clock) is given, past partitions it
    /// has stopped waiting for (counted as enforced processing). Returns the partitions
    /// whose consumer may fetch again.
    func processQueued(now: Int64?) throws -> [TopicPartition] {
        guard let group else { return [] }
        while group.bufferedCount > 0 {
            let readiness = now.map(group.readiness(now:)) ?? (group.allBuffered ? .ready : .waiting)
            if case .waiting = readiness { break }
            guard let (queued, queue) = group.next() else { break }
            leases.append(queued.record.lease)
            if case .enforced = readiness { context.counters.enforcedProcessing += 1 }
            try process(queued.record, input: group.queues[queue].input)
        }
        return group.takeResumable()
    }

    /// Whether every input partition has a record queued.
    var allInputsBuffered: Bool { group?.allBuffered ?? false }

    /// The consumer read `partition` to its end: nothing more is known to be on the broker.
    func reachedEnd(of topic: String) {
        guard let group, let index = inputs.firstIndex(where: { $0.topic == topic }) else { return }
        group.reachedEnd(index)
    }

    /// Records waiting in the task's queues.
    var queuedCount: Int { group?.bufferedCount ?? 0 }

    /// Publishes how late the records since the last report were.
    func reportLateness() {
        guard let metrics, context.lateness.count > 0 else { return }
        let lateness = context.takeLateness()
        metrics.latenessAverage.record(lateness.average)
        metrics.latenessMaximum.record(Double(lateness.maximum))
    }

    /// Runs due punctuations. Their errors always stop the application: there is no
    /// record to skip.
    func punctuate(_ type: PunctuationType, at time: Int64) throws {
        do {
            try context.punctuations.fire(type, at: time)
        } catch let error as NodeFailure {
            throw ProcessingError(node: error.node, source: nil, underlying: error.underlying)
        }
    }

    /// The offsets processed since the last ``markCommitted()``, and the task's
    /// ``FinishMark`` when it is to be committed.
    var uncommittedOffsets: [TopicPartitionOffset] {
        var offsets = inputs.compactMap { input in
            input.nextOffset < 0 || input.nextOffset == input.committedOffset
                ? nil : TopicPartitionOffset(topic: input.topic, partition: id.partition, offset: input.nextOffset)
        }
        if let mark = pendingFinishMark {
            let offset = max(mark.offset, nextOffset(of: mark.topic))
            offsets.removeAll { $0.topic == mark.topic }
            offsets.append(TopicPartitionOffset(topic: mark.topic, partition: id.partition, offset: offset, metadata: FinishMark.metadata))
        }
        return offsets
    }

    /// The finish mark this task's next commit carries (its marking partition, at least at
    /// `offset`), set once its input is finished.
    private var pendingFinishMark: (topic: String, offset: Int64)?

    /// The topic whose partition marks this task finished (see ``FinishMark``).
    var markingTopic: String? { FinishMark.markingTopic(of: inputs.map(\.topic)) }

    /// The input is finished: the next commit marks the marking partition at `offset` (or
    /// after the last record processed, if later) for the other members to see.
    func markFinished(at offset: Int64) {
        guard let topic = markingTopic else { return }
        pendingFinishMark = (topic, offset)
    }

    /// The offset after the last record of `topic` handled, or -1.
    func nextOffset(of topic: String) -> Int64 {
        inputs.first { $0.topic == topic }?.nextOffset ?? -1
    }

    func markCommitted() {
        for index in inputs.indices { inputs[index].committedOffset = inputs[index].nextOffset }
        pendingFinishMark = nil
    }

    /// Closes processors, then stores; writes not yet checkpointed are dropped (their
    /// changelog records, if sent, restore them). Queued records are dropped unprocessed
    /// (their offsets were never committed, so they are read again); returns the partitions
    /// that were paused, for the consumer to resume.
    @discardableResult
    func close() -> [TopicPartition] {
        var paused: [TopicPartition] = []
        if let group {
            let dropped = group.clear()
            leases.append(contentsOf: dropped.leases)
            paused = dropped.paused
        }
        for node in closables { node.close() }
        closables = []
        stores.close()
        context.stores = [:]
        return paused
    }

    private func handle(_ error: any Error, with policy: ErrorHandling, raw: PolledRecord) throws {
        switch policy {
        case .fail:
            context.logger.error("stopping: \(error)")
            throw error
        case .continue:
            context.logger.warning("skipping record: \(error)")
            context.counters.skipped += 1
        case .deadLetter(let topic):
            context.logger.warning("sending record to dead-letter topic \(topic): \(error)")
            let headers = raw.headers + DeadLetterHeaders.describing(
                source: raw.coordinates, errorType: type(of: Self.underlying(of: error)), message: String(describing: error))
            try context.collector.send(
                topic: topic, key: raw.key, value: raw.value, headers: headers, timestamp: raw.timestamp, source: { raw.coordinates })
            context.counters.skipped += 1
            context.counters.deadLettered += 1
        }
    }

    private static func underlying(of error: any Error) -> any Error {
        switch error {
        case let error as DeserializationError: error.underlying
        case let error as ProcessingError: error.underlying
        case let error as ProductionError: error.underlying
        default: error
        }
    }
}
