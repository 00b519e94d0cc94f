import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka
import Testing

/// The simulated cluster keeps Kafka's transactional semantics (KIP-98, and KIP-447's
/// offsets for groups): these are what the exactly-once proofs rely on, so they are
/// checked call by call.
@Suite struct SimulatedClusterTests {
    let cluster = SimulatedCluster(seed: 42)
    let logger = Logger(label: "simulated-cluster-tests")

    init() {
        cluster.createTopic("out", partitions: 1)
        cluster.createTopic("in", partitions: 1)
    }

    func producer(_ instance: SimulatedInstance, id: String = "txn-1") throws -> any StreamsTransactionalProducer {
        var configuration = KafkaConfiguration()
        configuration.transactionalID = id
        return try instance.clients.factory.makeTransactionalProducer(configuration: configuration, logger: logger)
    }

    func send(_ producer: any StreamsProducer, _ value: String) throws {
        try Array(value.utf8).withUnsafeBytes { bytes in
            try producer.send(topic: "out", partition: 0, key: nil, value: bytes, headers: [], timestamp: 0, onDelivery: nil)
        }
    }

    func values(_ isolation: IsolationLevel) -> [String] {
        cluster.records("out", isolation: isolation).map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }

    func member(_ instance: SimulatedInstance) throws -> any StreamsConsumer {
        var configuration = KafkaConfiguration()
        configuration.groupID = "group"
        let consumer = try instance.clients.factory.makeGroupConsumer(configuration: configuration, logger: logger) { _ in }
        try consumer.subscribe(["in"])
        _ = try consumer.poll(maxRecords: 1, timeout: .zero) { _ in }
        return consumer
    }

    @Test func openTransactionsAreInvisibleToReadCommittedUntilCommit() throws {
        let producer = try producer(cluster.makeInstance())
        try producer.initTransactions(timeout: .seconds(1))
        try producer.beginTransaction()
        try send(producer, "a")
        try cluster.produce("out", key: nil, value: Array("plain".utf8), partition: 0)
        #expect(values(.readCommitted).isEmpty, "stops at the open transaction's first record")
        #expect(values(.readUncommitted) == ["a", "plain"])
        try producer.commitTransaction(timeout: .seconds(1))
        #expect(values(.readCommitted) == ["a", "plain"])
        // The commit marker took an offset after the plain record.
        #expect(cluster.records("out", isolation: .readUncommitted).map(\.offset) == [0, 1])
    }

    @Test func abortedRecordsNeverBecomeVisibleToReadCommitted() throws {
        let producer = try producer(cluster.makeInstance())
        try producer.initTransactions(timeout: .seconds(1))
        try producer.beginTransaction()
        try send(producer, "aborted")
        try producer.abortTransaction(timeout: .seconds(1))
        try producer.beginTransaction()
        try send(producer, "kept")
        try producer.commitTransaction(timeout: .seconds(1))
        #expect(values(.readCommitted) == ["kept"])
        #expect(values(.readUncommitted) == ["aborted", "kept"])
        #expect(cluster.records("out", isolation: .readUncommitted).map(\.outcome) == [.aborted, .committed])
    }

    @Test func offsetsCommitWithTheTransactionOrNotAtAll() throws {
        let instance = cluster.makeInstance()
        let consumer = try member(instance)
        let producer = try producer(instance)
        try producer.initTransactions(timeout: .seconds(1))
        let partition = TopicPartition(topic: "in", partition: 0)

        try producer.beginTransaction()
        try producer.sendOffsets([TopicPartitionOffset(partition, offset: 5)], groupMetadata: consumer.groupMetadata(), timeout: .seconds(1))
        #expect(cluster.committedOffsets(group: "group")[partition] == nil, "not before the commit")
        try producer.abortTransaction(timeout: .seconds(1))
        #expect(cluster.committedOffsets(group: "group")[partition] == nil, "discarded by the abort")

        try producer.beginTransaction()
        try producer.sendOffsets([TopicPartitionOffset(partition, offset: 7)], groupMetadata: consumer.groupMetadata(), timeout: .seconds(1))
        try producer.commitTransaction(timeout: .seconds(1))
        #expect(cluster.committedOffsets(group: "group")[partition] == 7)
    }

    @Test func initWithTheSameIDAbortsTheOpenTransactionAndFencesTheOlderProducer() throws {
        let older = try producer(cluster.makeInstance())
        try older.initTransactions(timeout: .seconds(1))
        try older.beginTransaction()
        try send(older, "zombie")

        let newer = try producer(cluster.makeInstance())
        try newer.initTransactions(timeout: .seconds(1))
        #expect(cluster.records("out", isolation: .readUncommitted).first?.outcome == .aborted)

        for call in [{ try send(older, "late") }, { try older.commitTransaction(timeout: .seconds(1)) }] {
            let error = #expect(throws: KafkaError.self) { try call() }
            #expect(error?.classification == .fatal)
        }
        try newer.beginTransaction()
        try send(newer, "live")
        try newer.commitTransaction(timeout: .seconds(1))
        #expect(values(.readCommitted) == ["live"])
        #expect(cluster.statistics.fencedCalls == 2)
    }

    @Test func aTransactionOlderThanItsTimeoutIsAborted() throws {
        var configuration = KafkaConfiguration()
        configuration.transactionalID = "slow"
        configuration["transaction.timeout.ms"] = "1000"
        let producer = try cluster.makeInstance().clients.factory.makeTransactionalProducer(configuration: configuration, logger: logger)
        try producer.initTransactions(timeout: .seconds(1))
        try producer.beginTransaction()
        try send(producer, "slow")
        cluster.advanceTime(by: .seconds(2))
        #expect(cluster.statistics.expiredTransactions == 1)
        #expect(values(.readUncommitted) == ["slow"])
        #expect(cluster.records("out", isolation: .readUncommitted).first?.outcome == .aborted)
        let error = #expect(throws: KafkaError.self) { try producer.commitTransaction(timeout: .seconds(1)) }
        #expect(error?.classification == .fatal)
    }

    @Test func aCrashedInstanceCanNoLongerCallAndLeavesItsGroup() throws {
        let instance = cluster.makeInstance()
        let consumer = try member(instance)
        let producer = try producer(instance)
        try producer.initTransactions(timeout: .seconds(1))
        instance.crash()
        #expect(throws: SimulatedCrash.self) { try producer.beginTransaction() }
        #expect(throws: SimulatedCrash.self) { _ = try consumer.poll(maxRecords: 1, timeout: .zero) { _ in } }
        #expect(cluster.statistics.crashes == 1)
        // Its offsets can no longer commit: the group dropped the member.
        let successor = try self.producer(cluster.makeInstance())
        try successor.initTransactions(timeout: .seconds(1))
        try successor.beginTransaction()
        #expect(throws: KafkaError.self) {
            try successor.sendOffsets(
                [TopicPartitionOffset(topic: "in", partition: 0, offset: 1)], groupMetadata: consumer.groupMetadata(), timeout: .seconds(1))
        }
    }

    @Test func offsetsFromAMemberBehindTheGroupsLatestRebalanceAreRefused() throws {
        let instance = cluster.makeInstance()
        let consumer = try member(instance)
        let producer = try producer(instance)
        try producer.initTransactions(timeout: .seconds(1))
        // Another member joins: until the first one polls, it holds a stale generation.
        _ = try member(cluster.makeInstance())
        let partition = TopicPartition(topic: "in", partition: 0)

        try producer.beginTransaction()
        let error = #expect(throws: KafkaError.self) {
            try producer.sendOffsets([TopicPartitionOffset(partition, offset: 3)], groupMetadata: consumer.groupMetadata(), timeout: .seconds(1))
        }
        #expect(error?.code == .illegalGeneration)
        #expect(error?.classification == .abortable)
        #expect(throws: KafkaError.self) { try producer.commitTransaction(timeout: .seconds(1)) }
        try producer.abortTransaction(timeout: .seconds(1))

        // Once it has seen the rebalance, its offsets go through.
        _ = try consumer.poll(maxRecords: 1, timeout: .zero) { _ in }
        try producer.beginTransaction()
        try producer.sendOffsets([TopicPartitionOffset(partition, offset: 3)], groupMetadata: consumer.groupMetadata(), timeout: .seconds(1))
        try producer.commitTransaction(timeout: .seconds(1))
        #expect(cluster.committedOffsets(group: "group")[partition] == 3)
    }

    @Test func aNewOwnerStartsOnlyOnceThePreviousOwnersOffsetsAreStable() throws {
        for index in 0..<8 { try cluster.produce("in", key: nil, value: Array("r\(index)".utf8), partition: 0) }
        let previous = cluster.makeInstance()
        let leaving = try member(previous)
        let producer = try producer(previous)
        try producer.initTransactions(timeout: .seconds(1))
        try producer.beginTransaction()
        let partition = TopicPartition(topic: "in", partition: 0)
        try producer.sendOffsets([TopicPartitionOffset(partition, offset: 5)], groupMetadata: leaving.groupMetadata(), timeout: .seconds(1))
        try leaving.close()

        final class Assignments { var partitions: [[TopicPartition]] = [] }
        let assignments = Assignments()
        var configuration = KafkaConfiguration()
        configuration.groupID = "group"
        let next = try cluster.makeInstance().clients.factory.makeGroupConsumer(configuration: configuration, logger: logger) { event in
            if case .assigned(let partitions) = event { assignments.partitions.append(partitions) }
        }
        try next.subscribe(["in"])
        var offsets: [Int64] = []
        _ = try next.poll(maxRecords: 1, timeout: .zero) { offsets.append($0.offset) }
        #expect(assignments.partitions.isEmpty, "assigned while the previous owner's offsets were pending")
        #expect(offsets.isEmpty)

        try producer.commitTransaction(timeout: .seconds(1))
        _ = try next.poll(maxRecords: 1, timeout: .zero) { offsets.append($0.offset) }
        #expect(assignments.partitions == [[partition]])
        #expect(offsets == [5], "starts at the offset the previous owner committed")
    }

    @Test func keyedRecordsArePlacedAsKafkaProducersPlaceThem() throws {
        cluster.createTopic("keyed", partitions: 12)
        // From murmur2 hashes of Kafka's own partitioner tests (UtilsTest): "21" -973932308,
        // "foobar" -790332482, "a-little-bit-long-string" -985981536, "abc" 479470107;
        // partition = (hash & 0x7fffffff) % 12.
        let expected: [String: Int32] = ["21": 0, "foobar": 6, "a-little-bit-long-string": 8, "abc": 3]
        for (key, partition) in expected {
            #expect(try cluster.produce("keyed", key: Array(key.utf8), value: nil).partition == partition, "key \(key)")
        }
    }
}
