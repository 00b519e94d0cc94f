import Logging
import Metrics
import RdKafka

/// Rebuilds stores from their changelogs before their task processes anything, with a
/// manual-assign reader of its own (one per stream thread, created on first need).
///
/// A persistent store resumes after the changelog offset stored with its data; an
/// in-memory store, or one whose local state is missing or does not fit the changelog,
/// reads the whole changelog.
final class StoreRestorer {
    private let configuration: StreamsConfiguration
    private let logger: Logger
    private let restored: Counter
    private var reader: Consumer?

    init(configuration: StreamsConfiguration, logger: Logger, thread: String) {
        self.configuration = configuration
        self.logger = logger
        restored = Counter(
            label: "kafka_streams_restore_records_total",
            dimensions: [("application_id", configuration.applicationID), ("thread", thread)])
    }

    func close() {
        try? reader?.close()
        reader = nil
    }

    func restore(_ stores: TaskStores, task: TaskID) throws {
        for instance in stores.instances {
            guard let changelog = instance.changelog else { continue }
            try restore(instance, from: changelog, task: task)
        }
    }

    private func restore(_ instance: StoreInstance, from changelog: TopicPartition, task: TaskID) throws {
        let reader = try makeReader()
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
        guard start < marks.high else { return }

        let total = marks.high - start
        let listener = configuration.restoreListener
        listener?.onRestoreStart(store: instance.name, topic: changelog.topic, partition: changelog.partition, startOffset: start, endOffset: marks.high)
        logger.info("restoring store \(instance.name) (task \(task)) from \(changelog) offsets \(start)..<\(marks.high): \(total) records")
        try reader.assign([TopicPartitionOffset(changelog, offset: start)])
        defer { try? reader.assign([]) }

        let clock = ContinuousClock()
        let began = clock.now
        var lastReport = began
        var applied = 0
        var position = start
        var idleSince = clock.now
        while position < marks.high {
            var batch: [(key: [UInt8], value: [UInt8]?)] = []
            var last: Int64 = -1
            _ = try reader.poll(maxRecords: configuration.restoreBatchSize, timeout: .milliseconds(200)) { message in
                guard let key = message.key else { return }  // a changelog record always has a key
                batch.append((key: Array(key), value: message.value.map { Array($0) }))
                last = message.offset
            }
            if last >= 0 {
                try instance.typed.locked { try instance.root.restore(batch, through: last) }
                applied += batch.count
                position = last + 1
                restored.increment(by: batch.count)
                listener?.onBatchRestored(store: instance.name, topic: changelog.topic, partition: changelog.partition, batchEndOffset: last, records: batch.count)
                idleSince = clock.now
            } else {
                // Control records (transaction markers) take offsets but are never handed out.
                position = max(position, try reader.position([changelog]).first?.offset ?? position)
                if clock.now - idleSince > configuration.restoreTimeout {
                    throw StreamsError(.kafka, "restoring store \(instance.name) from \(changelog) made no progress for \(configuration.restoreTimeout) (at offset \(position) of \(marks.high))")
                }
            }
            if clock.now - lastReport >= .seconds(1) && position < marks.high {
                lastReport = clock.now
                report(instance.name, task: task, done: position - start, total: total, elapsed: clock.now - began)
            }
        }
        let seconds = Self.seconds(clock.now - began)
        logger.info("restored store \(instance.name) (task \(task)): \(applied) records in \(String(format: "%.2f", seconds)) s")
        listener?.onRestoreEnd(store: instance.name, topic: changelog.topic, partition: changelog.partition, totalRecords: applied)
    }

    private func report(_ store: String, task: TaskID, done: Int64, total: Int64, elapsed: Duration) {
        let seconds = max(Self.seconds(elapsed), 0.001)
        let rate = Double(done) / seconds
        let eta = rate > 0 ? Double(total - done) / rate : 0
        logger.info(
            "restoring store \(store) (task \(task)): \(Int(Double(done) * 100 / Double(max(total, 1))))% (\(done)/\(total) records, \(Int(rate)) records/s, ETA \(Int(eta.rounded(.up))) s)")
    }

    private func makeReader() throws -> Consumer {
        if let reader { return reader }
        let reader = try Consumer(configuration: configuration.restoreConsumerConfiguration(), logger: logger)
        self.reader = reader
        return reader
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
