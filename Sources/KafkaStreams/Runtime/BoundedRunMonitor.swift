import Dispatch
import Logging
import Metrics
import RdKafka
import Synchronization

/// Watches a ``BoundedRun`` from a thread of its own: reports progress and, once the
/// group's committed offsets reach every captured end and every repartition partition is
/// drained, says the run is done. Committed offsets, not this instance's positions, so the
/// other instances' work counts too: a member commits only after its outputs (repartition
/// records included) are acknowledged, so committed input means its effects are in the logs.
final class BoundedRunMonitor: Sendable {
    /// What the run has to process: the source partitions' offsets at start and their
    /// captured ends; the repartition partitions, drained at the end.
    struct Span: Sendable {
        let starts: [TopicPartition: Int64]
        let ends: [TopicPartition: Int64]
        let internalPartitions: [TopicPartition]

        var total: Int64 { ends.reduce(0) { $0 + max(0, $1.value - (starts[$1.key] ?? 0)) } }

        /// Captures where every partition of `external` ends (its latest offset, or the
        /// first record at or after the run's end time), and where the group starts (the
        /// first record where it committed none).
        static func capture(
            external: [TopicPartition], repartition: [TopicPartition], end: BoundedRun.End, positions: InputPositions
        ) throws -> Span {
            var starts: [TopicPartition: Int64] = [:]
            var ends: [TopicPartition: Int64] = [:]
            var byTime: [TopicPartition: Int64] = [:]
            if case .time(let time) = end { byTime = try positions.firstOffsets(atOrAfter: time, external) }
            for lag in try positions.lag(external).partitions {
                let partition = TopicPartition(topic: lag.topic, partition: lag.partition)
                ends[partition] = min(lag.endOffset, byTime[partition] ?? lag.endOffset)
                starts[partition] = min(lag.committedOffset, ends[partition]!)
            }
            return Span(starts: starts, ends: ends, internalPartitions: repartition)
        }
    }

    let span: Span
    private let run: BoundedRun
    private let positions: Mutex<InputPositions?>
    private let logger: Logger
    private let stopSignal = DispatchSemaphore(value: 0)
    private let processed: Gauge
    private let remaining: Gauge
    /// 1 once the run is done (its input and repartition topics processed and committed).
    private let finishedGauge: Gauge

    init(span: Span, run: BoundedRun, positions: InputPositions, applicationID: String, logger: Logger) {
        self.span = span
        self.run = run
        self.positions = Mutex(positions)
        self.logger = logger
        let dimensions = [("application_id", applicationID)]
        processed = Gauge(label: "kafka_streams_bounded_run_records_total", dimensions: dimensions)
        remaining = Gauge(label: "kafka_streams_bounded_run_remaining_records", dimensions: dimensions)
        finishedGauge = Gauge(label: "kafka_streams_bounded_run_finished", dimensions: dimensions)
    }

    /// Checks every `checkInterval` until the run is done (then `onDone`) or ``stop()``.
    /// With `finish`, the run is done once the input has been finished level by level too
    /// (see ``InputFinish``); `taskCount` is how many tasks the application has in all.
    func start(
        checkInterval: Duration = .milliseconds(100), finish: InputFinish? = nil, taskCount: Int = 0,
        onDone: @escaping @Sendable () -> Void
    ) {
        startThread(named: "streams:bounded") { [self] in
            let clock = ContinuousClock()
            let started = clock.now
            var lastReport = started
            // The level the threads were last asked to finish, and whether all have.
            var requested = -1
            var acknowledged = true
            finishedGauge.record(0)
            logger.info("bounded run: \(span.total) records to process", metadata: ["ends": "\(span.ends.count) partitions"])
            while stopSignal.wait(timeout: .now() + checkInterval.fractionalSeconds) == .timedOut {
                if let finish, !acknowledged {
                    // What the threads sent while finishing is checked afresh next time.
                    acknowledged = finish.allAcknowledged(requested)
                    continue
                }
                do {
                    // The marks first: the final results a mark commits with are in the
                    // logs before it, so the drain check after it sees them.
                    let unmarked = try finish.map { try unmarkedTasks(through: requested, $0) } ?? 0
                    let (done, finished) = try check()
                    processed.record(Double(done))
                    remaining.record(Double(span.total - done))
                    if finished, unmarked > 0, clock.now - lastReport >= run.progressInterval {
                        lastReport = clock.now
                        logger.info("bounded run: waiting for \(unmarked) tasks of sub-topology levels up to \(requested) to finish, here or elsewhere")
                    }
                    if finished, unmarked == 0, let finish, requested < finish.highestLevel {
                        requested += 1
                        logger.info("bounded run: input processed; closing the windows of sub-topology level \(requested)")
                        finish.request(requested)
                        acknowledged = false
                        continue
                    }
                    if finished, unmarked == 0 {
                        if let finish, finish.finishedTasks.count < taskCount {
                            logger.info("bounded run: \(taskCount - finish.finishedTasks.count) of \(taskCount) tasks finished on other instances")
                        }
                        finishedGauge.record(1)
                        logger.info("bounded run done: \(done) records in \(clock.now - started)")
                        onDone()
                        return
                    }
                    if clock.now - lastReport >= run.progressInterval {
                        lastReport = clock.now
                        report(done: done, elapsed: clock.now - started)
                    }
                } catch {
                    logger.warning("bounded run: could not read the group's offsets, checking again: \(error)")
                }
            }
        }
    }

    func stop() {
        stopSignal.signal()
        positions.withLock { $0?.close(); $0 = nil }
    }

    /// How many tasks of the levels up to `level` (none below 0) do not yet carry their
    /// ``FinishMark`` in the group's committed offsets, wherever they ran.
    private func unmarkedTasks(through level: Int, _ finish: InputFinish) throws -> Int {
        let partitions = finish.markedPartitions(through: level)
        guard !partitions.isEmpty else { return 0 }
        return try positions.withLock { positions in
            guard let positions else { return partitions.count }
            return partitions.count - (try positions.committed(partitions, withMetadata: FinishMark.metadata)).count
        }
    }

    /// Records of the captured span the group has committed, and whether the run is done.
    private func check() throws -> (done: Int64, finished: Bool) {
        try positions.withLock { positions in
            guard let positions else { return (0, false) }
            let committed = try positions.committed(Array(span.ends.keys) + span.internalPartitions)
            var done: Int64 = 0
            var unfinished: [(TopicPartition, from: Int64, end: Int64)] = []
            for (partition, end) in span.ends {
                let start = span.starts[partition] ?? 0
                let reached = min(max(committed[partition] ?? start, start), end)
                done += reached - start
                if reached < end { unfinished.append((partition, reached, end)) }
            }
            // Repartition topics count only once the input is done: until then more comes.
            if unfinished.isEmpty, !span.internalPartitions.isEmpty {
                let marks = try positions.watermarks(span.internalPartitions)
                for partition in span.internalPartitions {
                    let bounds = marks[partition] ?? Watermarks(low: 0, high: 0)
                    let from = max(committed[partition] ?? bounds.low, bounds.low)
                    if from < bounds.high { unfinished.append((partition, from, bounds.high)) }
                }
            }
            // A gap below the end may be transaction markers only (no record to process).
            for (partition, from, end) in unfinished {
                if try positions.holdsRecord(partition, from: from, before: end) { return (done, false) }
            }
            return (span.total, true)
        }
    }

    private func report(done: Int64, elapsed: Duration) {
        let seconds = max(elapsed.fractionalSeconds, 0.001)
        let rate = Double(done) / seconds
        let left = span.total - done
        let eta = rate > 0 ? "\(Int((Double(left) / rate).rounded())) s" : "unknown"
        let percent = span.total > 0 ? Int(Double(done) * 100 / Double(span.total)) : 100
        logger.info(
            "bounded run: \(done) of \(span.total) records (\(percent)%), \(Int(rate)) records/s, \(eta) left",
            metadata: ["records_done": "\(done)", "records_total": "\(span.total)"])
    }
}
