import KafkaStreams
import RdKafka

/// A producer of a simulated cluster, transactional when it has a transactional id.
/// Records are appended when sent (inside the open transaction, if any); their delivery
/// callbacks run at the next flush or commit, as acknowledgements would arrive.
final class SimulatedProducer: StreamsTransactionalProducer {
    private let instance: SimulatedInstance
    private let transactionalID: String?
    private let transactionTimeout: Int64
    private var epoch = -1
    private var begun = false
    private var pending: [(callback: (@Sendable (DeliveryResult) -> Void)?, result: DeliveryResult)] = []
    private(set) var deliveryFailureCount = 0
    private var firstFailure: KafkaError?
    private var cluster: SimulatedCluster { instance.cluster }

    init(instance: SimulatedInstance, transactionalID: String?, transactionTimeout: Int64) {
        self.instance = instance
        self.transactionalID = transactionalID
        self.transactionTimeout = transactionTimeout
    }

    func send(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [KafkaHeader],
        timestamp: Int64, onDelivery: (@Sendable (DeliveryResult) -> Void)?
    ) throws {
        let key = key.map { Array($0) }
        let value = value.map { Array($0) }
        let metadata = try cluster.step(instance, .send) { state in
            let transaction = try openTransaction(&state, at: .send)
            let target = try state.place(topic: topic, partition: partition, key: key)
            let entry = ClusterState.Entry(key: key, value: value, headers: headers, timestamp: timestamp, transaction: transaction, isControl: false)
            let offset = try state.append(entry, to: target)
            if let transaction { state.transactions[transaction]!.partitions.insert(target) }
            return RecordMetadata(topic: topic, partition: target.partition, offset: offset, timestamp: timestamp)
        }
        pending.append((onDelivery, .success(metadata)))
    }

    /// The transaction a transactional call joins, started on its first record or
    /// offsets; nil for a plain producer. Throws if the producer was fenced, no
    /// transaction was begun, or the transaction must abort.
    private func openTransaction(_ state: inout ClusterState, at step: SimulatedStep) throws -> Int? {
        guard let transactionalID else { return nil }
        try state.checkEpoch(transactionalID, epoch)
        guard begun else { throw KafkaError(code: .state, message: "no transaction begun", classification: .permanent) }
        let id: Int
        if let open = state.transactionalIDs[transactionalID]?.open {
            id = open
        } else {
            state.nextID += 1
            id = state.nextID
            state.transactions[id] = ClusterState.Transaction(
                transactionalID: transactionalID, epoch: epoch, started: state.now, timeout: transactionTimeout)
            state.transactionalIDs[transactionalID]!.open = id
        }
        if state.transactions[id]!.mustAbort {
            throw KafkaError(code: .invalidTransactionState, message: "the transaction must be aborted", classification: .abortable)
        }
        if let error = SimulatedCluster.injectedError(step, &state) {
            state.transactions[id]!.mustAbort = true
            throw error
        }
        return id
    }

    func flush(timeout: Duration) throws {
        try cluster.step(instance, .flush) { _ in }
        deliverPending()
    }

    private func deliverPending() {
        let delivered = pending
        pending = []
        for (callback, result) in delivered {
            if case .failure(let error) = result {
                deliveryFailureCount += 1
                if firstFailure == nil { firstFailure = error }
            }
            callback?(result)
        }
    }

    var outstandingCount: Int { pending.count }

    func takeFirstDeliveryFailure() -> KafkaError? {
        defer { firstFailure = nil }
        return firstFailure
    }

    func close(timeout: Duration) {
        if timeout > .zero, !instance.hasCrashed { deliverPending() }
        pending = []
    }

    // MARK: Transactions

    private static let notTransactional = KafkaError(code: .state, message: "not transactional", classification: .permanent)

    private func requireTransactionalID() throws -> String {
        guard let transactionalID else { throw Self.notTransactional }
        return transactionalID
    }

    func initTransactions(timeout: Duration) throws {
        let transactionalID = try requireTransactionalID()
        epoch = try cluster.step(instance, .initTransactions) { state in
            if let open = state.transactionalIDs[transactionalID]?.open { state.end(open, commit: false) }
            state.transactionalIDs[transactionalID, default: ClusterState.TransactionalIDState()].epoch += 1
            return state.transactionalIDs[transactionalID]!.epoch
        }
    }

    func beginTransaction() throws {
        let transactionalID = try requireTransactionalID()
        try cluster.step(instance, .beginTransaction) { state in
            try state.checkEpoch(transactionalID, epoch)
            guard !begun else { throw KafkaError(code: .state, message: "a transaction is already begun", classification: .permanent) }
        }
        begun = true
    }

    func sendOffsets(_ offsets: [TopicPartitionOffset], groupMetadata: GroupMetadata, timeout: Duration) throws {
        guard !offsets.isEmpty else { return }
        try cluster.step(instance, .sendOffsets) { state in
            guard let transaction = try openTransaction(&state, at: .sendOffsets) else { throw Self.notTransactional }
            // The coordinator refuses the offsets of a member the group no longer has, or
            // of one that has not yet seen the group's latest rebalance (KIP-447): its
            // partitions may already be another member's.
            let group = state.groups[groupMetadata.groupID]
            guard group?.members[groupMetadata.memberID] != nil else {
                state.transactions[transaction]!.mustAbort = true
                throw KafkaError(
                    code: .unknownMemberID, message: "member \(groupMetadata.memberID) is no longer in group \(groupMetadata.groupID)",
                    classification: .abortable)
            }
            guard group?.generation == groupMetadata.generationID else {
                state.transactions[transaction]!.mustAbort = true
                throw KafkaError(
                    code: .illegalGeneration,
                    message: "generation \(groupMetadata.generationID) of group \(groupMetadata.groupID) is stale (now \(group?.generation ?? -1))",
                    classification: .abortable)
            }
            for offset in offsets {
                state.transactions[transaction]!.offsets[groupMetadata.groupID, default: [:]][offset.topicPartition] = (offset.offset, offset.metadata)
            }
        }
    }

    func commitTransaction(timeout: Duration) throws {
        let transactionalID = try requireTransactionalID()
        deliverPending()
        try cluster.step(instance, .commitTransaction) { state in
            try state.checkEpoch(transactionalID, epoch)
            guard let open = state.transactionalIDs[transactionalID]?.open else { return }
            if state.transactions[open]!.mustAbort {
                throw KafkaError(code: .invalidTransactionState, message: "the transaction must be aborted", classification: .abortable)
            }
            if let error = SimulatedCluster.injectedError(.commitTransaction, &state) {
                state.transactions[open]!.mustAbort = true
                throw error
            }
            state.end(open, commit: true)
        }
        begun = false
    }

    func abortTransaction(timeout: Duration) throws {
        let transactionalID = try requireTransactionalID()
        try cluster.step(instance, .abortTransaction) { state in
            try state.checkEpoch(transactionalID, epoch)
            if let open = state.transactionalIDs[transactionalID]?.open { state.end(open, commit: false) }
        }
        // Aborted records are purged: no acknowledgement arrives for them.
        pending = []
        begun = false
    }
}
