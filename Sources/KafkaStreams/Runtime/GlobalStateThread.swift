import Foundation
import Logging
import RdKafka
import RocksDB
import Synchronization

/// The global stores of one application instance (global tables') and the thread that
/// keeps them (Kafka Streams' `GlobalStreamThread`): at start it reads every partition of
/// their topics to the end they had, before any stream thread starts; then it applies
/// updates as they arrive until the application stops. Stream tasks read the stores under
/// their locks, from their own threads.
///
/// A persistent store resumes where its checkpoint file says it was committed (a crash
/// between the store's commit and the file's leaves an older checkpoint: the records after
/// it are applied again, which leaves a table as it was); an in-memory one, or one whose
/// checkpoint is outside its topic's offsets, is read from the beginning. The restore
/// listener hears each partition's bootstrap, as it hears the tasks' restores.
final class GlobalStateThread: @unchecked Sendable {
    /// The typed stores, by name, for tasks to read and queries to find.
    let stores: [String: AnyObject]
    private let global: GlobalStores
    private let partitions: [TopicPartition]
    /// The topics of the persistent stores, whose positions the checkpoint keeps.
    private let checkpointedTopics: Set<String>
    private let checkpoint: GlobalCheckpoint
    /// The next offset to apply of each partition.
    private var positions: [TopicPartition: Int64] = [:]
    private let reader: any StreamsConsumer
    private let configuration: StreamsConfiguration
    private let context: TaskContext
    private let logger: Logger
    private let stopRequested = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    /// The pseudo task the stores are registered under for interactive queries.
    static let task = TaskID(subtopology: -1, partition: 0)

    /// Opens the stores and the reader. Blocking.
    ///
    /// - Parameter partitionCounts: the partition count of each global topic.
    init(
        topology: Topology, configuration: StreamsConfiguration, partitionCounts: [String: Int], resources: RocksDBResources?, logger: Logger
    ) throws {
        var logger = logger
        logger[metadataKey: "thread"] = "global"
        self.logger = logger
        self.configuration = configuration
        context = TaskContext(
            id: Self.task, applicationID: configuration.applicationID, logger: logger, clock: .system, collector: NoChangelogCollector(),
            defaultSerdes: DefaultSerdes(key: configuration.defaultKeySerde, value: configuration.defaultValueSerde))
        let directory = "\(configuration.stateDirectory)/\(configuration.applicationID)/global"
        let global = try GlobalStores(topology, context: context, directory: directory, resources: resources)
        do {
            reader = try configuration.clients.factory.makeReader(configuration: configuration.globalConsumerConfiguration(), logger: logger)
        } catch {
            global.close()
            throw error
        }
        self.global = global
        partitions = global.topics.flatMap { topic in (0..<(partitionCounts[topic] ?? 0)).map { TopicPartition(topic: topic, partition: Int32($0)) } }
        checkpointedTopics = Set(topology.globalStores.values.filter(\.store.persistent).map(\.topic))
        checkpoint = GlobalCheckpoint(path: "\(directory)/.checkpoint")
        stores = global.typed
    }

    /// Reads every partition, from its checkpoint or its start, to the end it has now.
    /// Blocking.
    func bootstrap() throws {
        var marks: [TopicPartition: Watermarks] = [:]
        for partition in partitions {
            marks[partition] = try reader.queryWatermarks(topic: partition.topic, partition: partition.partition, timeout: .seconds(30))
        }
        let checkpointed = checkpointedTopics.isEmpty ? [:] : checkpoint.load()
        // A store resumes only if every partition of its topic has a usable checkpoint.
        var resumed: Set<String> = []
        for topic in checkpointedTopics {
            let own = partitions.filter { $0.topic == topic }
            if own.allSatisfy({ partition in checkpointed[partition].map { (marks[partition]!.low...marks[partition]!.high).contains($0) } ?? false }) {
                resumed.insert(topic)
            }
        }
        for (instance, topic) in zip(global.instances, global.topics) where !resumed.contains(topic) {
            try instance.typed.locked { try instance.root.wipe() }
        }
        for partition in partitions {
            positions[partition] = resumed.contains(partition.topic) ? checkpointed[partition]! : marks[partition]!.low
        }
        try reader.assign(partitions.map { TopicPartitionOffset($0, offset: positions[$0]!) })
        // The partitions not yet read to the end they have now (`positions` says how far).
        let restoring = partitions.filter { positions[$0]! < marks[$0]!.high }
        var remaining = restoring
        var applied: [TopicPartition: Int] = [:]
        let listener = configuration.restoreListener
        let storeOfTopic = Dictionary(uniqueKeysWithValues: zip(global.topics, global.instances.map(\.name)))
        for partition in restoring {
            listener?.onRestoreStart(
                store: storeOfTopic[partition.topic] ?? "", topic: partition.topic, partition: partition.partition,
                startOffset: positions[partition]!, endOffset: marks[partition]!.high)
        }
        let began = ContinuousClock.now
        var lastProgress = began
        while !remaining.isEmpty {
            let received = try poll { record in applied[TopicPartition(topic: record.topic, partition: record.partition), default: 0] += 1 }
            try advancePastMarkers(remaining)
            remaining.removeAll { positions[$0]! >= marks[$0]!.high }
            if received > 0 {
                lastProgress = .now
            } else if ContinuousClock.now - lastProgress > configuration.restoreTimeout {
                let listing = remaining.map { "\($0.topic)[\($0.partition)] at \(positions[$0]!) of \(marks[$0]!.high)" }
                throw StreamsError(.kafka, "bootstrapping global stores made no progress for \(configuration.restoreTimeout) (\(listing.joined(separator: ", ")))")
            }
        }
        try commitStores()
        for partition in restoring {
            listener?.onRestoreEnd(
                store: storeOfTopic[partition.topic] ?? "", topic: partition.topic, partition: partition.partition, totalRecords: applied[partition] ?? 0)
        }
        logger.info(
            "global stores bootstrapped",
            metadata: [
                "stores": "\(stores.keys.sorted())", "records": "\(applied.values.reduce(0, +))", "resumed": "\(resumed.sorted())",
                "seconds": "\((ContinuousClock.now - began).fractionalSeconds)",
            ])
    }

    /// Starts the thread that applies updates until ``requestStop()``; `onExit` hears the
    /// error that stopped it, if any.
    func start(name: String, onExit: @escaping @Sendable ((any Error)?) -> Void) {
        startThread(named: name) { [self] in
            Database.disablePerformanceCountersOnCurrentThread()
            var failure: (any Error)?
            var lastCommit = ContinuousClock.now
            do {
                while !stopRequested.load(ordering: .acquiring) {
                    _ = try poll()
                    if ContinuousClock.now - lastCommit >= configuration.commitInterval {
                        try commitStores()
                        lastCommit = .now
                    }
                }
                try commitStores()
            } catch {
                logger.error("the global-state thread stops: \(error)")
                failure = error
            }
            exited.signal()
            onExit(failure)
        }
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// Waits for the thread to end (when it was started), then closes the stores and the
    /// reader. Blocking.
    func close(started: Bool) {
        if started { exited.wait() }
        global.close()
        try? reader.close()
    }

    /// Applies what one poll brings (`seen` hears of each record); returns the number of
    /// records.
    private func poll(seen: (PolledRecord) -> Void = { _ in }) throws -> Int {
        try reader.poll(maxRecords: configuration.maxPollRecords, timeout: .milliseconds(100)) { record in
            positions[TopicPartition(topic: record.topic, partition: record.partition)] = record.offset + 1
            seen(record)
            guard let apply = global.updaters[record.topic] else { return }
            do {
                try apply(record)
            } catch let error as DeserializationError {
                try handle(error, of: record)
            }
        }
    }

    /// A record of a global topic that does not decode: stops the application under
    /// `.fail`, else is skipped (no dead-letter topic: nothing here produces).
    private func handle(_ error: DeserializationError, of record: PolledRecord) throws {
        if case .fail = configuration.errorHandlers.deserialization { throw error }
        logger.warning("skipping a global table record that does not decode: \(error)")
        context.counters.skipped += 1
    }

    /// Makes the stores' writes durable, then records how far they go.
    private func commitStores() throws {
        try global.commit()
        guard !checkpointedTopics.isEmpty else { return }
        try advancePastMarkers(partitions)
        try checkpoint.save(positions.filter { checkpointedTopics.contains($0.key.topic) })
    }

    /// Moves `positions` of `partitions` to the reader's: transaction markers take offsets
    /// but are never handed out, so the last record seen may not be the end.
    private func advancePastMarkers(_ partitions: [TopicPartition]) throws {
        for position in try reader.position(partitions) where position.offset >= 0 {
            positions[position.topicPartition] = max(positions[position.topicPartition] ?? 0, position.offset)
        }
    }
}

/// A global store writes no changelog: its topic is one.
private final class NoChangelogCollector: RecordCollector {
    func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader], timestamp: Int64,
        source: () -> SourceCoordinates?
    ) throws {
        throw StreamsError(.topology, "a global store cannot send records (to \(topic))")
    }

    func sendChange(topic: String, partition: Int32, key: [UInt8], value: [UInt8]?, timestamp: Int64, tracker: ChangelogTracker) throws {
        throw StreamsError(.topology, "a global store has no changelog of its own (\(topic))")
    }
}
