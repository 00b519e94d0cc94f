import Logging

/// One sub-topology's processors for one partition: routes input records to its sources,
/// applies the error handlers, keeps stream time and the offsets it may commit.
final class StreamTask {
    let id: TaskID
    let context: TaskContext
    private let handlers: ErrorHandlers
    private var sources: [String: SourceReceiver] = [:]
    private var closables: [ClosableNode] = []
    /// Per source topic, the offset after the last record handled (what a commit stores).
    private(set) var nextOffsets: [String: Int64] = [:]
    /// Offsets already committed, so unchanged partitions are not committed again.
    private var committedOffsets: [String: Int64] = [:]
    private(set) var counters = TaskCounters()

    init(subtopology: Subtopology, topology: Topology, context: TaskContext, handlers: ErrorHandlers) throws {
        id = context.id
        self.context = context
        self.handlers = handlers
        var contexts: [String: AnyObject] = [:]
        var runtimeNodes: [String: AnyObject] = [:]
        let definitions = subtopology.nodeNames.compactMap(topology.node(named:))
        for node in definitions {
            let nodeContext = node.makeContext?(context, node.name)
            contexts[node.name] = nodeContext
            runtimeNodes[node.name] = try node.makeNode(nodeContext, context)
        }
        for node in definitions {
            for child in node.children {
                guard let attach = node.attachChild, let nodeContext = contexts[node.name], let childNode = runtimeNodes[child] else { continue }
                try attach(nodeContext, childNode, child)
            }
            for topic in node.sourceTopics {
                sources[topic.resolved(applicationID: context.applicationID)] = runtimeNodes[node.name] as? SourceReceiver
            }
        }
        closables = definitions.compactMap { runtimeNodes[$0.name] as? ClosableNode }
    }

    /// The topics this task reads, with its partition.
    var inputTopics: [String] { Array(sources.keys) }

    /// Processes one input record. Throws only when an error handler says `.fail` (or for
    /// errors no handler covers); the record's offset then stays uncommitted.
    func process(_ raw: SourceRecordView) throws {
        context.currentRecord = RecordContext(
            topic: raw.topic, partition: raw.partition, offset: raw.offset, timestamp: raw.timestamp, headers: raw.headers)
        defer { context.currentRecord = nil }
        if raw.timestamp > context.streamTime { context.streamTime = raw.timestamp }
        guard let source = sources[raw.topic] else {
            throw StreamsError(.kafka, "task \(id) received a record of \(raw.topic), which it does not read")
        }
        do {
            try source.process(raw, task: context)
            counters.processed += 1
        } catch let error as DeserializationError {
            try handle(error, with: handlers.deserialization, raw: raw)
        } catch let error as NodeFailure {
            try handle(ProcessingError(node: error.node, source: raw.coordinates, underlying: error.underlying), with: handlers.processing, raw: raw)
        } catch let error as SerializationFailure {
            try handle(ProductionError(topic: error.topic, source: raw.coordinates, underlying: error.underlying), with: handlers.production, raw: raw)
        } catch let error as ProductionError {
            try handle(error, with: handlers.production, raw: raw)
        }
        nextOffsets[raw.topic] = raw.offset + 1
        context.currentRecord = nil
        try punctuate(.streamTime, at: context.streamTime)
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

    /// The offsets processed since the last ``markCommitted()``.
    var uncommittedOffsets: [(topic: String, partition: Int32, offset: Int64)] {
        nextOffsets.compactMap { topic, offset in
            committedOffsets[topic] == offset ? nil : (topic, id.partition, offset)
        }
    }

    func markCommitted() {
        committedOffsets = nextOffsets
        context.commitRequested = false
    }

    /// The counts since the last call.
    func takeCounters() -> TaskCounters {
        defer { counters = TaskCounters() }
        return counters
    }

    func close() {
        for node in closables { node.close() }
        closables = []
    }

    private func handle(_ error: any Error, with policy: ErrorHandling, raw: SourceRecordView) throws {
        switch policy {
        case .fail:
            context.logger.error("stopping: \(error)")
            throw error
        case .continue:
            context.logger.warning("skipping record: \(error)")
            counters.skipped += 1
        case .deadLetter(let topic):
            context.logger.warning("sending record to dead-letter topic \(topic): \(error)")
            let underlying = Self.underlying(of: error)
            let headers = raw.headers + [
                RecordHeader(key: DeadLetterHeaders.topic, string: raw.topic),
                RecordHeader(key: DeadLetterHeaders.partition, string: String(raw.partition)),
                RecordHeader(key: DeadLetterHeaders.offset, string: String(raw.offset)),
                RecordHeader(key: DeadLetterHeaders.exception, string: String(reflecting: type(of: underlying))),
                RecordHeader(key: DeadLetterHeaders.message, string: String(describing: error)),
            ]
            try context.collector.send(
                topic: topic, key: raw.key, value: raw.value, headers: headers, timestamp: raw.timestamp, source: raw.coordinates)
            counters.skipped += 1
            counters.deadLettered += 1
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

/// Per-task counts, summed into metrics by the stream thread.
struct TaskCounters {
    var processed = 0
    var skipped = 0
    var deadLettered = 0

    mutating func add(_ other: TaskCounters) {
        processed += other.processed
        skipped += other.skipped
        deadLettered += other.deadLettered
    }
}
