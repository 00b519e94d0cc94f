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
    let producer: Producer
    private let policy: ErrorHandling
    private let logger: Logger
    private var failuresSeen = 0
    private let failures = DeliveryFailures()
    /// Records handed to the producer since the counter was last read.
    var sentCount = 0
    /// Outputs dropped by a `.continue` or `.deadLetter` production handler.
    var skippedCount = 0

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

    init(producer: Producer, policy: ErrorHandling, logger: Logger) {
        self.producer = producer
        self.policy = policy
        self.logger = logger
    }

    func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader],
        timestamp: Int64, source: SourceCoordinates?
    ) throws {
        var onDelivery: (@Sendable (DeliveryResult) -> Void)?
        if case .deadLetter = policy {
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
            try producer.produce(topic: topic, key: key, value: value, headers: headers, timestamp: timestamp, onDelivery: onDelivery)
            sentCount += 1
        } catch {
            throw ProductionError(topic: topic, source: source, underlying: error)
        }
    }

    func sendChange(
        topic: String, partition: Int32, key: [UInt8], value: [UInt8]?, timestamp: Int64, tracker: ChangelogTracker
    ) throws {
        try producer.produce(ProducerRecord(topic: topic, partition: partition, key: key, value: value, timestamp: timestamp)) { result in
            switch result {
            case .success(let metadata): tracker.acknowledged(metadata.offset)
            case .failure(let error): tracker.failed(error)
            }
        }
        sentCount += 1
    }

    /// Waits until every output is acknowledged, then applies the production handler to
    /// those that failed. Throws a ``ProductionError`` under `.fail` (or when a dead-letter
    /// write fails), a ``StreamsError`` when the flush times out.
    func flush(timeout: Duration) throws {
        while true {
            do {
                try producer.flush(timeout: timeout)
            } catch {
                throw StreamsError(.commit, "\(producer.outstandingCount) outputs still unacknowledged after \(timeout)", underlying: error)
            }
            if let error = failures.deadLetterWrite.withLock({ $0 }) {
                throw ProductionError(topic: "dead-letter topic", source: nil, underlying: error)
            }
            let failed = producer.deliveryFailureCount - failuresSeen
            failuresSeen += failed
            guard failed > 0 else { return }
            let first = producer.takeFirstDeliveryFailure()
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
        try producer.produce(
            ProducerRecord(topic: deadLetterTopic, key: record.key, value: record.value, headers: headers, timestamp: record.timestamp)
        ) { [failures] result in
            if case .failure(let error) = result { failures.deadLetterWrite.withLock { if $0 == nil { $0 = error } } }
        }
    }

    /// librdkafka's delivery errors read "delivery to TOPIC [PARTITION] failed".
    private static func topic(of error: KafkaError) -> String? {
        guard let range = error.message.range(of: "delivery to ") else { return nil }
        return error.message[range.upperBound...].split(separator: " ").first.map(String.init)
    }
}
