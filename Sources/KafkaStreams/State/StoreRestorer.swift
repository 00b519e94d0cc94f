import Logging
import Metrics
import RdKafka

/// Rebuilds stores from their changelogs before their tasks process anything, with a
/// manual-assign reader of its own (one per stream thread, created on first need).
///
/// A persistent store resumes after the changelog offset stored with its data; an
/// in-memory store, or one whose local state is missing or does not fit the changelog,
/// reads the whole changelog. The stores of every task a rebalance creates are restored
/// together, so the reader fetches all their changelog partitions at once while batches
/// are applied.
final class StoreRestorer {
    private let configuration: StreamsConfiguration
    private let clients: any ClientFactory
    private let logger: Logger
    private let restored: Counter
    private var reader: (any StreamsConsumer)?

    /// - Parameter restored: counts the records applied (the thread's
    ///   `kafka_streams_restore_records_total`).
    init(configuration: StreamsConfiguration, clients: any ClientFactory, logger: Logger, restored: Counter) {
        self.configuration = configuration
        self.clients = clients
        self.logger = logger
        self.restored = restored
    }

    func close() {
        try? reader?.close()
        reader = nil
    }

    /// One store's restore: what to read, and how far it got.
    private final class Restoration {
        let instance: StoreInstance
        let changelog: TopicPartition
        let task: TaskID
        let start: Int64
        /// The changelog's end when the restore began: records from here on (a table's
        /// source topic keeps growing) are the task's input, not state to restore.
        let end: Int64
        var position: Int64
        let batch: RestoreBatch
        var lastInBatch: Int64 = -1
        var applied = 0
        /// The changelog records not yet in the store
        /// (`kafka_streams_restore_remaining_records`, Kafka Streams'
        /// `restore-remaining-records-total`): 0 once restored.
        let remaining: Gauge

        init(instance: StoreInstance, changelog: TopicPartition, task: TaskID, start: Int64, end: Int64, applicationID: String) {
            self.instance = instance
            self.changelog = changelog
            self.task = task
            self.start = start
            self.end = end
            position = start
            batch = instance.root.makeRestoreBatch()
            remaining = Gauge(
                label: "kafka_streams_restore_remaining_records",
                dimensions: [("application_id", applicationID), ("task", "\(task)"), ("store", instance.name)])
            remaining.record(Double(end - start))
        }

        var isDone: Bool { position >= end }
    }

    /// Restores every store of `tasks` that has a changelog, to the changelog's end.
    func restore(_ tasks: [(stores: TaskStores, task: TaskID)]) throws {
        let reader = try makeReader()
        var pending: [TopicPartition: Restoration] = [:]
        for (stores, task) in tasks {
            for instance in stores.instances {
                guard let changelog = instance.changelog else { continue }
                if let restoration = try plan(instance, from: changelog, task: task, reader: reader) {
                    pending[changelog] = restoration
                }
            }
        }
        guard !pending.isEmpty else { return }
        let listener = configuration.restoreListener
        for restoration in pending.values {
            let (name, changelog) = (restoration.instance.name, restoration.changelog)
            listener?.onRestoreStart(store: name, topic: changelog.topic, partition: changelog.partition, startOffset: restoration.start, endOffset: restoration.end)
            logger.info("restoring store \(name) (task \(restoration.task)) from \(changelog) offsets \(restoration.start)..<\(restoration.end): \(restoration.end - restoration.start) records")
        }
        try reader.assign(pending.values.map { TopicPartitionOffset($0.changelog, offset: $0.start) })
        defer { try? reader.assign([]) }
        try readUntilRestored(pending, reader: reader)
    }

    /// Checks the store's local state against the changelog; returns what to read, or nil
    /// when the store is complete.
    private func plan(_ instance: StoreInstance, from changelog: TopicPartition, task: TaskID, reader: any StreamsConsumer) throws -> Restoration? {
        let marks = try reader.queryWatermarks(topic: changelog.topic, partition: changelog.partition, timeout: .seconds(30))
        var stored = try instance.typed.locked { try instance.root.storedChangelogOffset() }
        if stored >= marks.high || (stored >= 0 && stored + 1 < marks.low) {
            logger.warning(
                "local state of store \(instance.name) (task \(task)) is at changelog offset \(stored), outside \(changelog) [\(marks.low), \(marks.high)): wiping it and restoring fully")
            try instance.typed.locked { try instance.root.wipe() }
            stored = -1
        } else if stored < 0 && instance.root.isPersistent && marks.high > marks.low {
            logger.info("store \(instance.name) (task \(task)) has no local state: restoring it fully from \(changelog)")
        }
        let start = max(stored + 1, marks.low)
        guard start < marks.high else { return nil }
        return Restoration(instance: instance, changelog: changelog, task: task, start: start, end: marks.high, applicationID: configuration.applicationID)
    }

    private func readUntilRestored(_ all: [TopicPartition: Restoration], reader: any StreamsConsumer) throws {
        let clock = ContinuousClock()
        let began = clock.now
        var lastReport = began
        var idleSince = began
        var remaining = all
        let total = all.values.reduce(0) { $0 + ($1.end - $1.start) }
        var lastRouted: Restoration?
        while !remaining.isEmpty {
            var received = 0
            _ = try reader.poll(maxRecords: configuration.restoreBatchSize, timeout: .milliseconds(200)) { message in
                let restoration: Restoration
                if let last = lastRouted, last.changelog.partition == message.partition, last.changelog.topic == message.topic {
                    restoration = last
                } else {
                    guard let found = remaining[TopicPartition(topic: message.topic, partition: message.partition)] else { return }
                    restoration = found
                    lastRouted = found
                }
                guard message.offset < restoration.end else { return }
                restoration.position = message.offset + 1
                received += 1
                guard let key = message.key else { return }  // a changelog record always has a key
                if restoration.instance.timestampedValues, let value = message.value {
                    TimestampedBytes.joined(timestamp: message.timestamp, value: value).withUnsafeBytes { restoration.batch.add(key: key, value: $0) }
                } else {
                    restoration.batch.add(key: key, value: message.value)
                }
                restoration.lastInBatch = message.offset
            }
            lastRouted = nil
            if received > 0 {
                idleSince = clock.now
                // Full batches only, or a partition's last: RocksDB writes cost per batch.
                for restoration in remaining.values where restoration.batch.count >= configuration.restoreBatchSize {
                    try apply(restoration)
                }
            } else {
                // Control records (transaction markers) take offsets but are never handed out.
                for position in try reader.position(Array(remaining.keys)) {
                    if let restoration = remaining[TopicPartition(topic: position.topic, partition: position.partition)] {
                        restoration.position = max(restoration.position, position.offset)
                    }
                }
                if clock.now - idleSince > configuration.restoreTimeout {
                    let behind = remaining.values.map { "\($0.changelog) at \($0.position) of \($0.end)" }
                    throw StreamsError(.kafka, "restoring stores made no progress for \(configuration.restoreTimeout) (\(behind.joined(separator: ", ")))")
                }
            }
            for (partition, restoration) in remaining where restoration.isDone {
                remaining[partition] = nil
                if restoration.batch.count > 0 { try apply(restoration) }
                finish(restoration, elapsed: clock.now - began)
            }
            if clock.now - lastReport >= .seconds(1) && !remaining.isEmpty {
                lastReport = clock.now
                let done = all.values.reduce(0) { $0 + ($1.position - $1.start) }
                report(stores: all.count, done: done, total: total, elapsed: clock.now - began)
            }
        }
    }

    private func apply(_ restoration: Restoration) throws {
        let (instance, batch, last) = (restoration.instance, restoration.batch, restoration.lastInBatch)
        let count = batch.count
        try instance.typed.locked { try instance.root.restore(batch, through: last) }
        restoration.applied += count
        restoration.remaining.record(Double(max(0, restoration.end - last - 1)))
        restored.increment(by: count)
        configuration.restoreListener?.onBatchRestored(
            store: instance.name, topic: restoration.changelog.topic, partition: restoration.changelog.partition, batchEndOffset: last,
            records: count)
    }

    private func finish(_ restoration: Restoration, elapsed: Duration) {
        let (name, changelog) = (restoration.instance.name, restoration.changelog)
        restoration.remaining.record(0)
        logger.info("restored store \(name) (task \(restoration.task)): \(restoration.applied) records in \(String(format: "%.2f", elapsed.fractionalSeconds)) s")
        configuration.restoreListener?.onRestoreEnd(store: name, topic: changelog.topic, partition: changelog.partition, totalRecords: restoration.applied)
    }

    private func report(stores: Int, done: Int64, total: Int64, elapsed: Duration) {
        let seconds = max(elapsed.fractionalSeconds, 0.001)
        let rate = Double(done) / seconds
        let eta = rate > 0 ? Double(total - done) / rate : 0
        logger.info(
            "restoring \(stores) stores: \(Int(Double(done) * 100 / Double(max(total, 1))))% (\(done)/\(total) records, \(Int(rate)) records/s, ETA \(Int(eta.rounded(.up))) s)")
    }

    private func makeReader() throws -> any StreamsConsumer {
        if let reader { return reader }
        let reader = try clients.makeReader(configuration: configuration.restoreConsumerConfiguration(), logger: logger)
        self.reader = reader
        return reader
    }
}
