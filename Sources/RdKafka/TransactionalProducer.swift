import CRdKafka
import Logging

/// A producer that writes records, and consumer offsets, atomically in Kafka
/// transactions (KIP-98).
///
/// Call order: ``initTransactions(timeout:)`` once, then per transaction
/// ``beginTransaction()``, any number of ``produce(_:onDelivery:)``,
/// ``sendOffsets(_:groupMetadata:timeout:)``, and ``commitTransaction(timeout:)`` or
/// ``abortTransaction(timeout:)``. Every thrown ``KafkaError`` is classified: retriable
/// (call again), abortable (abort, then continue), or fatal (the producer is fenced or
/// broken: create a new one).
///
/// The blocking methods block the calling thread; their `async` twins run on a thread the
/// producer owns.
public final class TransactionalProducer: Sendable {
    /// The underlying producer, for sending records inside a transaction.
    public let producer: Producer
    private let worker: DedicatedThread

    /// - Parameter configuration: must set ``KafkaConfiguration/transactionalID``.
    public init(
        configuration: KafkaConfiguration,
        logger: Logger,
        deliveryReports: (@Sendable (DeliveryResult) -> Void)? = nil,
        onError: (@Sendable (KafkaError) -> Void)? = nil
    ) throws(KafkaError) {
        guard configuration.transactionalID != nil else {
            throw KafkaError.configuration(key: "transactional.id", message: "a transactional producer needs a transactional.id")
        }
        self.producer = try Producer(
            configuration: configuration, logger: logger, deliveryReports: deliveryReports, onError: onError)
        self.worker = DedicatedThread(name: clientThreadName(client: producer.handle.name, role: "txn"))
    }

    deinit { worker.stop() }

    private var pointer: OpaquePointer { producer.handle.pointer }

    /// Registers the transactional id with the coordinator, fencing older producers with
    /// the same id and aborting their open transaction.
    public func initTransactions(timeout: Duration) throws(KafkaError) {
        try KafkaError.check(rd_kafka_init_transactions(pointer, timeout.clampedMilliseconds), context: "init transactions")
    }

    /// Starts a transaction (local: nothing is sent until the first record or offsets).
    public func beginTransaction() throws(KafkaError) {
        try KafkaError.check(rd_kafka_begin_transaction(pointer), context: "begin transaction")
    }

    /// Queues a record inside the current transaction.
    public func produce(
        _ record: ProducerRecord, onDelivery: (@Sendable (DeliveryResult) -> Void)? = nil
    ) throws(KafkaError) {
        try producer.produce(record, onDelivery: onDelivery)
    }

    /// Adds consumed offsets (next offset to read, per partition) to the transaction, so
    /// they commit if and only if the transaction does.
    public func sendOffsets(
        _ offsets: [TopicPartitionOffset], groupMetadata: ConsumerGroupMetadata, timeout: Duration
    ) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = NativePartitionList(offsets)
        try KafkaError.check(
            rd_kafka_send_offsets_to_transaction(pointer, list.pointer, groupMetadata.pointer, timeout.clampedMilliseconds),
            context: "send offsets to transaction")
    }

    /// Flushes outstanding records and commits the transaction.
    public func commitTransaction(timeout: Duration) throws(KafkaError) {
        try KafkaError.check(rd_kafka_commit_transaction(pointer, timeout.clampedMilliseconds), context: "commit transaction")
    }

    /// Purges outstanding records and aborts the transaction.
    public func abortTransaction(timeout: Duration) throws(KafkaError) {
        try KafkaError.check(rd_kafka_abort_transaction(pointer, timeout.clampedMilliseconds), context: "abort transaction")
    }

    public func initTransactions(timeout: Duration) async throws {
        try await worker.run { try self.initTransactions(timeout: timeout) }
    }

    public func sendOffsets(_ offsets: [TopicPartitionOffset], groupMetadata: ConsumerGroupMetadata, timeout: Duration) async throws {
        try await worker.run { try self.sendOffsets(offsets, groupMetadata: groupMetadata, timeout: timeout) }
    }

    public func commitTransaction(timeout: Duration) async throws {
        try await worker.run { try self.commitTransaction(timeout: timeout) }
    }

    public func abortTransaction(timeout: Duration) async throws {
        try await worker.run { try self.abortTransaction(timeout: timeout) }
    }

    /// Stops the producer: an open transaction is abandoned (the broker aborts it).
    public func close(timeout: Duration = .seconds(10)) {
        worker.stop()
        producer.close(timeout: timeout)
    }
}
