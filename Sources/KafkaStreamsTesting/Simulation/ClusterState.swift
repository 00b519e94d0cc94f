import KafkaStreams
import RdKafka

/// Everything a simulated cluster knows, mutated only under its lock.
struct ClusterState {
    var random: SeededRandom
    var injection: CrashInjection
    /// Milliseconds since the epoch on the simulated clock.
    var now: Int64 = 1_700_000_000_000
    var topics: [String: [PartitionLog]] = [:]
    var transactions: [Int: Transaction] = [:]
    var transactionalIDs: [String: TransactionalIDState] = [:]
    var groups: [String: GroupState] = [:]
    var crashedInstances: Set<Int> = []
    var nextID = 0
    var statistics = SimulatedCluster.Statistics()

    struct Entry {
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [KafkaHeader]
        var timestamp: Int64
        /// The transaction it belongs to; nil for records written outside one.
        var transaction: Int?
        /// A transaction marker: takes an offset, never handed to readers.
        var isControl: Bool
    }

    struct PartitionLog {
        var entries: [Entry] = []
        /// The first offset of each transaction still open on this partition.
        var openTransactions: [Int: Int64] = [:]
        var highWatermark: Int64 { Int64(entries.count) }
        var lastStableOffset: Int64 { openTransactions.values.min() ?? highWatermark }
    }

    struct Transaction {
        let transactionalID: String
        let epoch: Int
        let started: Int64
        let timeout: Int64
        var outcome: SimulatedRecord.TransactionOutcome = .open
        var partitions: Set<TopicPartition> = []
        /// Offsets sent to the transaction, by group, with their metadata.
        var offsets: [String: [TopicPartition: (offset: Int64, metadata: String?)]] = [:]
        /// Set by an abortable error: only an abort may follow.
        var mustAbort = false
    }

    struct TransactionalIDState {
        var epoch = 0
        var open: Int?
    }

    struct GroupState {
        var generation: Int32 = 0
        /// Members by id, with the topics they follow.
        var members: [String: (instance: Int, topics: [String])] = [:]
        var committed: [TopicPartition: Int64] = [:]
        /// The metadata committed with an offset, where there was some.
        var metadata: [TopicPartition: String] = [:]

        /// Commits `offset` with its metadata (`nil` clears what an earlier commit left).
        mutating func commit(_ offset: Int64, metadata: String?, for partition: TopicPartition) {
            committed[partition] = offset
            self.metadata[partition] = metadata
        }
    }

    // MARK: Topics

    func partitionCount(_ topic: String) -> Int? { topics[topic]?.count }

    /// Creates a topic unless it exists (whose partitions then stay as they are).
    mutating func createTopic(_ name: String, partitions: Int) {
        if topics[name] == nil { topics[name] = Array(repeating: PartitionLog(), count: partitions) }
    }

    func log(_ partition: TopicPartition) throws -> PartitionLog {
        guard let logs = topics[partition.topic] else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "unknown topic \(partition.topic)", classification: .permanent)
        }
        guard partition.partition >= 0, Int(partition.partition) < logs.count else {
            throw KafkaError(code: .unknownPartition, message: "unknown partition \(partition)", classification: .permanent)
        }
        return logs[Int(partition.partition)]
    }

    /// Where a record goes: its partition if given, else by its key's murmur2 hash (as
    /// Kafka's producers do), else at random.
    mutating func place(topic: String, partition: Int32?, key: [UInt8]?) throws -> TopicPartition {
        guard let count = partitionCount(topic) else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "unknown topic \(topic)", classification: .permanent)
        }
        if let partition { return TopicPartition(topic: topic, partition: partition) }
        if let key { return TopicPartition(topic: topic, partition: Murmur2.partition(of: key, partitions: count)) }
        return TopicPartition(topic: topic, partition: Int32(random.next() % UInt64(count)))
    }

    mutating func append(_ entry: Entry, to partition: TopicPartition) throws -> Int64 {
        _ = try log(partition)
        let offset = topics[partition.topic]![Int(partition.partition)].highWatermark
        topics[partition.topic]![Int(partition.partition)].entries.append(entry)
        if let transaction = entry.transaction, !entry.isControl,
            topics[partition.topic]![Int(partition.partition)].openTransactions[transaction] == nil
        {
            topics[partition.topic]![Int(partition.partition)].openTransactions[transaction] = offset
        }
        return offset
    }

    func isVisible(_ entry: Entry, at offset: Int64, in log: PartitionLog, isolation: IsolationLevel) -> Bool {
        guard !entry.isControl else { return false }
        switch isolation {
        case .readUncommitted:
            return true
        case .readCommitted:
            guard offset < log.lastStableOffset else { return false }
            guard let transaction = entry.transaction else { return true }
            return transactions[transaction]?.outcome == .committed
        }
    }

    func outcome(of entry: Entry) -> SimulatedRecord.TransactionOutcome {
        entry.transaction.flatMap { transactions[$0]?.outcome } ?? .committed
    }

    // MARK: Transactions

    /// Ends a transaction: markers on every partition it wrote, its offsets committed
    /// with it or discarded.
    mutating func end(_ id: Int, commit: Bool) {
        guard var transaction = transactions[id], transaction.outcome == .open else { return }
        for partition in transaction.partitions.sorted(by: { ($0.topic, $0.partition) < ($1.topic, $1.partition) }) {
            _ = try? append(Entry(key: nil, value: nil, headers: [], timestamp: now, transaction: id, isControl: true), to: partition)
            topics[partition.topic]![Int(partition.partition)].openTransactions[id] = nil
        }
        if commit {
            for (group, offsets) in transaction.offsets {
                for (partition, offset) in offsets {
                    groups[group, default: GroupState()].commit(offset.offset, metadata: offset.metadata, for: partition)
                }
            }
            statistics.committedTransactions += 1
        } else {
            statistics.abortedTransactions += 1
        }
        transaction.outcome = commit ? .committed : .aborted
        transactions[id] = transaction
        if transactionalIDs[transaction.transactionalID]?.open == id { transactionalIDs[transaction.transactionalID]?.open = nil }
    }

    /// The coordinator aborts transactions open longer than their timeout, and bumps the
    /// producer's epoch: its next call finds itself fenced.
    mutating func expireTransactions() {
        let expired = transactions.filter { $0.value.outcome == .open && now - $0.value.started > $0.value.timeout }.keys.sorted()
        for id in expired {
            guard let transaction = transactions[id] else { continue }
            end(id, commit: false)
            transactionalIDs[transaction.transactionalID, default: TransactionalIDState()].epoch += 1
            statistics.expiredTransactions += 1
        }
    }

    /// Throws the fatal error a producer gets once a newer one took its transactional id.
    mutating func checkEpoch(_ transactionalID: String, _ epoch: Int) throws {
        expireTransactions()
        guard transactionalIDs[transactionalID]?.epoch == epoch else {
            statistics.fencedCalls += 1
            throw KafkaError(
                code: .producerFenced, message: "producer \(transactionalID) (epoch \(epoch)) was fenced by a newer one", classification: .fatal)
        }
    }

    // MARK: Groups

    /// Partitions of the group's topics for one member: partition p of every topic goes to
    /// the (p mod n)th member following it, so co-partitioned topics stay together.
    func assignment(group: String, member: String) -> [TopicPartition] {
        guard let state = groups[group], let own = state.members[member] else { return [] }
        var result: [TopicPartition] = []
        for topic in own.topics.sorted() {
            let following = state.members.filter { $0.value.topics.contains(topic) }.keys.sorted()
            guard let index = following.firstIndex(of: member), let count = partitionCount(topic) else { continue }
            for partition in 0..<count where partition % following.count == index {
                result.append(TopicPartition(topic: topic, partition: Int32(partition)))
            }
        }
        return result
    }

    /// Whether an open transaction holds offsets of `group` for any of `partitions`.
    func hasPendingOffsets(group: String, for partitions: [TopicPartition]) -> Bool {
        let wanted = Set(partitions)
        return transactions.values.contains { transaction in
            transaction.outcome == .open && transaction.offsets[group]?.keys.contains(where: wanted.contains) == true
        }
    }

    mutating func removeMembers(of instance: Int) {
        for (name, group) in groups {
            let leaving = group.members.filter { $0.value.instance == instance }.keys
            guard !leaving.isEmpty else { continue }
            for member in leaving { groups[name]!.members[member] = nil }
            groups[name]!.generation += 1
        }
    }
}
