import Logging
import RdKafka
import Synchronization

/// Sends a stream thread's outputs through its producer and applies the production error
/// handler to records the broker refuses.
///
/// Under `.fail` and `.continue` records carry no callback of their own (the producer
/// counts failures); under `.deadLetter` each record keeps a copy of its bytes and source
/// in its delivery callback, so a refused record can be written to the dead-letter topic.
final class ProducerRecordCollector: RecordCollector {
    let producer: any StreamsProducer
    /// Under exactly-once a refused send fails the transaction, not just the record: such
    /// errors bypass the production handler.
    private let transactional: Bool
    private let policy: ErrorHandling
    private let logger: Logger
    private var failuresSeen = 0
    private let failures = DeliveryFailures()
    /// Records handed to the producer since the counter was last read. Counted per record
    /// on the stream thread only, as `sentInTransaction`: no dynamic exclusivity check.
    @exclusivity(unchecked) var sentCount = 0
    /// Outputs dropped by a `.continue` or `.deadLetter` production handler.
    var skippedCount = 0
    /// Records handed to the producer since ``startTransaction()``: whether the open
    /// transaction holds any.
    @exclusivity(unchecked) private(set) var sentInTransaction = 0

    /// Filled by delivery callbacks on the producer's polling thread.
    private final class DeliveryFailures: Sendable {
        let refused = Mutex<[RefusedRecord]>([])
        let deadLetterWrite = Mutex<KafkaError?>(nil)
    }

    private struct RefusedRecord: Sendable {
        let topic: String
        let key: [UInt8]?
        let value: [UInt8]?
        let headers: [RecordHeader]
        let timestamp: Int64
        let source: SourceCoordinates?
        let error: KafkaError
    }

    init(producer: any StreamsProducer, transactional: Bool, policy: ErrorHandling, logger: Logger) {
        self.producer = producer
        self.transactional = transactional
        self.policy = policy
        self.logger = logger
    }

    /// Marks the start of a new transaction (exactly-once).
    func startTransaction() { sentInTransaction = 0 }

    /// Errors the client itself failed with, which no production handler may skip: a
    /// crashed process, or under exactly-once a transaction that can no longer commit.
    private func clientFailure(_ error: any Error) -> ClientFailure? {
        if error is any ProcessCrash { return ClientFailure(underlying: error) }
        if transactional, let error = error as? KafkaError, error.classification == .fatal || error.classification == .abortable {
            return ClientFailure(underlying: error)
        }
        return nil
    }

    func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader],
        timestamp: Int64, source: () -> SourceCoordinates?
    ) throws {
        try send(topic: topic, partition: nil, key: key, value: value, headers: headers, timestamp: timestamp, source: source)
    }

    func send(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader],
        timestamp: Int64, source: () -> SourceCoordinates?
    ) throws {
        var onDelivery: (@Sendable (DeliveryResult) -> Void)?
        if case .deadLetter = policy {
            let source = source()
            let keyCopy = key.map { Array($0) }
            let valueCopy = value.map { Array($0) }
            onDelivery = { [failures] result in
                guard case .failure(let error) = result else { return }
                failures.refused.withLock {
                    $0.append(RefusedRecord(
                        topic: topic, key: keyCopy, value: valueCopy, headers: headers, timestamp: timestamp, source: source, error: error))
                }
            }
        }
        do {
            try producer.send(
                topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp, onDelivery: onDelivery)
            sentCount += 1
            sentInTransaction += 1
        } catch {
            throw clientFailure(error) ?? ProductionError(topic: topic, source: source(), underlying: error)
        }
    }

    func sendChange(
        topic: String, partition: Int32, key: [UInt8], value: [UInt8]?, timestamp: Int64, tracker: ChangelogTracker
    ) throws {
        do {
            try key.withUnsafeBytes { key in
                try withBytes(of: value) { value in
                    try producer.send(topic: topic, partition: partition, key: key, value: value, timestamp: timestamp, acknowledging: tracker)
                }
            }
        } catch {
            throw clientFailure(error) ?? error
        }
        sentCount += 1
        sentInTransaction += 1
    }

    /// Waits until every output is acknowledged, then applies the production handler to
    /// those that failed. Throws a ``ProductionError`` under `.fail` (or when a dead-letter
    /// write fails), a ``StreamsError`` when the flush times out.
    func flush(timeout: Duration) throws {
        while true {
            do {
                try producer.flush(timeout: timeout)
            } catch {
                if let failure = clientFailure(error) { throw failure }
                throw StreamsError(.commit, "\(producer.outstandingCount) outputs still unacknowledged after \(timeout)", underlying: error)
            }
            if let error = failures.deadLetterWrite.withLock({ $0 }) {
                throw ProductionError(topic: "dead-letter topic", source: nil, underlying: error)
            }
            let failed = producer.deliveryFailureCount - failuresSeen
            failuresSeen += failed
            guard failed > 0 else { return }
            let first = producer.takeFirstDeliveryFailure()
            if transactional, let first, let failure = clientFailure(first) { throw failure }
            switch policy {
            case .fail:
                throw ProductionError(topic: first.flatMap(Self.topic(of:)) ?? "an output topic", source: nil, underlying: first ?? KafkaError(code: .wrapper, message: "delivery failed"))
            case .continue:
                logger.warning("\(failed) outputs were refused and skipped; the first: \(first.map { "\($0)" } ?? "?")")
                skippedCount += failed
            case .deadLetter(let deadLetterTopic):
                let records = failures.refused.withLock { records in defer { records = [] }; return records }
                skippedCount += records.count
                for record in records { try writeDeadLetter(record, to: deadLetterTopic) }
                // Loop: the dead letters must be acknowledged too before anything commits.
            }
        }
    }

    private func writeDeadLetter(_ record: RefusedRecord, to deadLetterTopic: String) throws {
        logger.warning("output to \(record.topic) refused, writing it to \(deadLetterTopic): \(record.error)")
        let headers = record.headers + DeadLetterHeaders.describing(
            source: record.source, errorType: KafkaError.self, message: "cannot produce to \(record.topic): \(record.error)")
        let onDelivery: @Sendable (DeliveryResult) -> Void = { [failures] result in
            if case .failure(let error) = result { failures.deadLetterWrite.withLock { if $0 == nil { $0 = error } } }
        }
        let record = ProducerRecord(topic: deadLetterTopic, key: record.key, value: record.value, headers: headers, timestamp: record.timestamp)
        do {
            try withBytes(of: record.key) { key in
                try withBytes(of: record.value) { value in
                    try producer.send(
                        topic: deadLetterTopic, partition: nil, key: key, value: value, headers: headers, timestamp: record.timestamp ?? 0,
                        onDelivery: onDelivery)
                }
            }
        } catch {
            throw clientFailure(error) ?? error
        }
        sentInTransaction += 1
    }


    /// librdkafka's delivery errors read "delivery to TOPIC [PARTITION] failed".
    private static func topic(of error: KafkaError) -> String? {
        guard let range = error.message.range(of: "delivery to ") else { return nil }
        return error.message[range.upperBound...].split(separator: " ").first.map(String.init)
    }
}
