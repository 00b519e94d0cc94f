import Logging
import RdKafka

/// Thrown when the thread's producer was fenced or failed fatally: the thread closes its
/// tasks without committing, makes a new producer and rejoins the group.
struct ProducerFenced: Error {
    let underlying: KafkaError
}

// Exactly-once: one transaction per commit holds every output and changelog record the
// thread's tasks sent, and the offsets of the inputs they came from. The stores keep their
// writes in memory (and their record caches) until the transaction commits, and only then
// write them to RocksDB with the changelog offsets they reach: local state never holds a
// write whose transaction might still abort, so a crash at any step leaves state that
// the committed changelog completes.
extension StreamThread {
    /// The most transactions aborted in a row before the thread gives up: the error then
    /// is not going away (an output topic refuses every record, say).
    static let maxAbortsInARow = 10

    /// Registers the transactional id (fencing a predecessor with the same id and aborting
    /// its open transaction) and opens the first transaction.
    func initTransactions() throws {
        guard let transactions else { return }
        do {
            try transactions.initTransactions(timeout: configuration.flushTimeout)
            try beginTransaction()
        } catch let error as KafkaError {
            throw StreamsError(.kafka, "cannot start transactions with id \(transactionalID ?? "")", underlying: error)
        }
    }

    func beginTransaction() throws {
        guard let transactions, let collector else { return }
        try fencedIfFatal { try transactions.beginTransaction() }
        collector.startTransaction()
    }

    /// Flush → offsets with the group's generation → commit → checkpoint the stores →
    /// open the next transaction. A failure before the commit is complete aborts (see
    /// ``recover(from:dropping:)``); returns whether the offsets were committed.
    func commitTransaction(
        _ transactions: any StreamsTransactionalProducer, offsets: [TopicPartitionOffset], consumer: any StreamsConsumer,
        collector: ProducerRecordCollector, reason: String, checkpoint: () throws -> Void
    ) throws -> Bool {
        guard !offsets.isEmpty || collector.sentInTransaction > 0 else { return false }
        do {
            try collector.flush(timeout: configuration.flushTimeout)
            try transactions.sendOffsets(offsets, groupMetadata: try consumer.groupMetadata(), timeout: configuration.flushTimeout)
            try transactions.commitTransaction(timeout: configuration.flushTimeout)
        } catch {
            guard !Self.isCrash(error), let failure = Self.transactionFailure(in: error) else { throw error }
            try recover(from: failure)
            return false
        }
        abortsInARow = 0
        logger.debug("transaction committed (\(reason))", metadata: ["offsets": "\(offsets)"])
        try checkpoint()
        try beginTransaction()
        return true
    }

    /// Handles a failed transaction: a fatal error (fenced) ends this membership; any
    /// other aborts the transaction, drops what the tasks did since the last commit
    /// (their stores reopen at their last checkpoint and catch up from the committed
    /// changelog), rewinds the consumer to the committed offsets and opens a new
    /// transaction.
    ///
    /// - Parameter dropping: partitions being revoked, whose tasks are not reopened.
    func recover(from failure: KafkaError, dropping: Set<TopicPartition> = []) throws {
        guard failure.classification != .fatal else { throw ProducerFenced(underlying: failure) }
        guard let transactions, let consumer else { throw failure }
        abortsInARow += 1
        guard abortsInARow <= Self.maxAbortsInARow else {
            throw StreamsError(.commit, "\(Self.maxAbortsInARow) transactions in a row failed; the last", underlying: failure)
        }
        logger.warning("aborting the transaction and rewinding to the last commit: \(failure)")
        try fencedIfFatal { try transactions.abortTransaction(timeout: configuration.flushTimeout) }
        commitFailed = false
        closeTasks(tasks.keys)
        let kept = assigned.subtracting(dropping).sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        try createTasks(for: kept)
        try rewind(consumer, to: kept)
        try beginTransaction()
    }

    /// Aborts the open transaction when the thread stops on an error, so that no output,
    /// changelog record or offset of the records processed since the last commit (the
    /// failed one included) becomes visible; the stores drop those writes when their tasks
    /// close. A failed abort is left to the broker: the transaction times out, or the
    /// restarted thread's `initTransactions` aborts it.
    func abortAfterFailure(_ failure: any Error) {
        guard let transactions else { return }
        logger.warning("aborting the open transaction: the thread stops on \(failure)")
        do {
            try transactions.abortTransaction(timeout: configuration.flushTimeout)
        } catch {
            logger.error("abort failed, the transaction is left to time out or be fenced: \(error)")
        }
    }

    /// Moves the consumer back to the group's committed offsets (the start of the
    /// partition where none is committed).
    private func rewind(_ consumer: any StreamsConsumer, to partitions: [TopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        let committed = try consumer.committed(partitions, timeout: configuration.flushTimeout)
        let positions = committed.map { $0.offset >= 0 ? $0 : TopicPartitionOffset($0.topicPartition, offset: KafkaOffset.beginning) }
        try consumer.seek(positions, timeout: configuration.flushTimeout)
    }

    /// Runs a transactional call; a fatal error becomes ``ProducerFenced``.
    private func fencedIfFatal(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as KafkaError where error.classification == .fatal {
            throw ProducerFenced(underlying: error)
        }
    }

    /// The transaction's failure to recover from (by aborting, or rejoining when fatal),
    /// when `error` is one: only under exactly-once, and only for client errors that say
    /// the transaction cannot commit.
    func abortableFailure(in error: any Error) -> KafkaError? {
        guard transactions != nil, !Self.isCrash(error), let failure = Self.transactionFailure(in: error),
            failure.classification == .abortable || failure.classification == .fatal
        else { return nil }
        return failure
    }

    /// The client error that failed the transaction, if that is what `error` is.
    static func transactionFailure(in error: any Error) -> KafkaError? {
        switch error {
        case let error as KafkaError: error
        case let error as ClientFailure: transactionFailure(in: error.underlying)
        case let error as StreamsError: error.underlying.flatMap(transactionFailure(in:))
        case let error as ProductionError: transactionFailure(in: error.underlying)
        default: nil
        }
    }
}
