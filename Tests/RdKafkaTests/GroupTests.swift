import RdKafka
import Synchronization
import Testing

/// What one group member has seen and done; shared with its rebalance handler.
final class MemberLog: Sendable {
    private struct State {
        var processed: [TopicPartition: Int64] = [:]  // next offset to read
        var events: [RebalanceEvent] = []
        var attemptedInRevoke: [TopicPartitionOffset] = []
        var committedInRevoke: [TopicPartitionOffset] = []
        var commitErrors: [KafkaError] = []
        var assigned: Set<TopicPartition> = []
    }
    private let state = Mutex(State())

    func markProcessed(_ records: [ConsumerRecord]) {
        state.withLock { state in
            for record in records {
                state.processed[TopicPartition(topic: record.topic, partition: record.partition)] = record.offset + 1
            }
        }
    }

    /// The rebalance handler under test: commits processed offsets of revoked partitions.
    func handle(_ event: RebalanceEvent, _ consumer: Consumer) {
        var toCommit: [TopicPartitionOffset] = []
        state.withLock { state in
            state.events.append(event)
            switch event {
            case .assigned(let partitions):
                state.assigned.formUnion(partitions)
            case .revoked(let partitions):
                toCommit = partitions.compactMap { p in state.processed[p].map { TopicPartitionOffset(p, offset: $0) } }
                state.assigned.subtract(partitions)
            case .lost(let partitions):
                state.assigned.subtract(partitions)
            }
        }
        guard !toCommit.isEmpty else { return }
        state.withLock { $0.attemptedInRevoke += toCommit }
        do {
            try consumer.commit(toCommit)
            state.withLock { $0.committedInRevoke += toCommit }
        } catch {
            state.withLock { $0.commitErrors.append(error) }
        }
    }

    var events: [RebalanceEvent] { state.withLock { $0.events } }
    var assigned: Set<TopicPartition> { state.withLock { $0.assigned } }
    var attemptedInRevoke: [TopicPartitionOffset] { state.withLock { $0.attemptedInRevoke } }
    var committedInRevoke: [TopicPartitionOffset] { state.withLock { $0.committedInRevoke } }
    var commitErrors: [KafkaError] { state.withLock { $0.commitErrors } }
    var revokedAny: Bool { events.contains { if case .revoked = $0 { true } else { false } } }
}

@Suite struct GroupTests {
    /// On a fresh cluster, member A reads 200 records of a 4-partition topic, then member
    /// B joins; both poll until the partitions are split. Returns what B read meanwhile.
    private func handOver(
        topic: String, strategy: KafkaConfiguration.AssignmentStrategy, logA: MemberLog, logB: MemberLog
    ) async throws -> (cluster: MockCluster, memberA: Consumer, memberB: Consumer, readByB: [ConsumerRecord]) {
        let cluster = try makeCluster(topics: [topic: 4])
        try await produceNumbered(cluster, topic: topic, count: 200, prefix: "first")
        let configuration = consumerConfiguration(cluster, group: "group-\(topic)")
            .merging(["partition.assignment.strategy": strategy.rawValue])
        let memberA = try Consumer(configuration: configuration, logger: testLogger) { logA.handle($0, $1) }
        try memberA.subscribe([topic])
        let first = try await pollRecords(memberA, count: 200)
        logA.markProcessed(first)
        #expect(first.count == 200)
        #expect(logA.assigned.count == 4)
        #expect(memberA.rebalanceProtocol == (strategy == .range ? .eager : .cooperative))

        let memberB = try Consumer(configuration: configuration, logger: testLogger) { logB.handle($0, $1) }
        try memberB.subscribe([topic])
        let split: @Sendable () -> Bool = { logA.revokedAny && logA.assigned.count == 2 && logB.assigned.count == 2 }
        async let pollA: Void = {
            let deadline = ContinuousClock.now.advanced(by: .seconds(40))
            while !split() && ContinuousClock.now < deadline {
                logA.markProcessed(try await memberA.poll(maxRecords: 100, timeout: .milliseconds(100)))
            }
        }()
        let readByB = try await pollUntil(memberB, timeout: .seconds(40), split)
        try await pollA
        #expect(logA.assigned.isDisjoint(with: logB.assigned))
        #expect(logA.assigned.union(logB.assigned).count == 4)
        return (cluster, memberA, memberB, readByB)
    }

    /// Records produced after a hand-over reach exactly one of the two members. Returns
    /// every value the two read meanwhile.
    private func expectNewRecordsExactlyOnce(_ cluster: MockCluster, topic: String, _ a: Consumer, _ b: Consumer) async throws -> [String] {
        try await produceNumbered(cluster, topic: topic, count: 40, prefix: "second")
        let values = ValueCollector()
        let allArrived: @Sendable () -> Bool = { values.all.filter { $0.hasPrefix("second") }.count >= 40 }
        async let readByA = pollUntil(a, timeout: .seconds(15), allArrived, onBatch: values.add)
        _ = try await pollUntil(b, timeout: .seconds(15), allArrived, onBatch: values.add)
        _ = try await readByA
        let all = values.all
        #expect(all.filter { $0.hasPrefix("second") }.sorted() == (0..<40).map { "second-\($0)" }.sorted())
        return all
    }

    @Test func cooperativeHandOverCommitsMovedPartitionsInTheRevokeHandler() async throws {
        let topic = "cooperative-handover"
        let logA = MemberLog()
        let logB = MemberLog()
        let (cluster, memberA, memberB, readByB) = try await handOver(topic: topic, strategy: .cooperativeSticky, logA: logA, logB: logB)

        // Only the moved partitions were revoked, and the handler committed them, at their
        // end, before B could fetch them.
        #expect(Set(logA.attemptedInRevoke.map(\.topicPartition)) == logB.assigned)
        // The mock refuses commits while a member is (re)joining, which a real broker
        // accepts from the current generation; on a busy machine the revoke can land in
        // that window. Any other failure is a defect.
        #expect(logA.commitErrors.allSatisfy { $0.code == .rebalanceInProgress }, "\(logA.commitErrors)")
        let committed = logA.commitErrors.isEmpty
        if committed {
            #expect(Set(logA.committedInRevoke.map(\.topicPartition)) == logB.assigned)
            for entry in try memberB.committed(Array(logB.assigned), timeout: .seconds(10)) {
                let end = try memberB.queryWatermarks(topic: topic, partition: entry.partition, timeout: .seconds(5)).high
                #expect(entry.offset == end)
            }
        }
        let later = try await expectNewRecordsExactlyOnce(cluster, topic: topic, memberA, memberB)
        if committed {
            #expect((readByB.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } } + later)
                .filter { $0.hasPrefix("first") }.isEmpty, "B re-read records A had committed")
        }
        try memberB.close()
        try memberA.close()
    }

    @Test func eagerHandOverRevokesEverythingSynchronouslyFirst() async throws {
        let topic = "eager-handover"
        let logA = MemberLog()
        let logB = MemberLog()
        let (cluster, memberA, memberB, _) = try await handOver(topic: topic, strategy: .range, logA: logA, logB: logB)

        // Eager: every assignment arrives with nothing held, and every revoke takes all that
        // is held, before the next assignment. A busy mock may add rebalance rounds.
        let events = logA.events
        #expect(events.first == .assigned(Array(logA.assigned.union(logB.assigned)).sorted(by: byPartition)))
        var held: Set<TopicPartition> = []
        var revokes = 0
        for event in events {
            switch event {
            case .assigned(let partitions):
                #expect(held.isEmpty, "assigned \(partitions) while holding \(held)")
                held = Set(partitions)
            case .revoked(let partitions), .lost(let partitions):
                #expect(Set(partitions) == held, "eager must revoke everything held")
                held = []
                revokes += 1
            }
        }
        #expect(revokes >= 1)
        #expect(held == logA.assigned)
        // The mock's coordinator answers OffsetCommit with REBALANCE_IN_PROGRESS while a
        // new member is joining (a real broker accepts commits of the current generation
        // then), so a commit from this handler is proven on close below, and during a join
        // by RealBrokerTests.eagerRevokeHandlerCommitsWhileASecondMemberJoins.
        _ = try await expectNewRecordsExactlyOnce(cluster, topic: topic, memberA, memberB)
        try memberB.close()
        try memberA.close()
    }

    /// Offset metadata is committed with its offset and read back by another client of the
    /// group; a later commit without metadata clears it.
    @Test func offsetMetadataTravelsWithTheCommit() async throws {
        let topic = "offset-metadata"
        let cluster = try makeCluster(topics: [topic: 2])
        try await produceNumbered(cluster, topic: topic, count: 10, partition: 0)
        let configuration = consumerConfiguration(cluster, group: topic)
        let writer = try Consumer(configuration: configuration, logger: testLogger)
        let partitions = [TopicPartition(topic: topic, partition: 0), TopicPartition(topic: topic, partition: 1)]
        try await writer.commit([
            TopicPartitionOffset(partitions[0], offset: 10, metadata: "finished"),
            TopicPartitionOffset(partitions[1], offset: 0, metadata: "é and more"),
        ])
        let reader = try Consumer(configuration: configuration, logger: testLogger)
        #expect(try reader.committed(partitions, timeout: .seconds(10)) == [
            TopicPartitionOffset(partitions[0], offset: 10, metadata: "finished"),
            TopicPartitionOffset(partitions[1], offset: 0, metadata: "é and more"),
        ])
        try await writer.commit([TopicPartitionOffset(partitions[0], offset: 10)])
        #expect(try reader.committed([partitions[0]], timeout: .seconds(10)) == [TopicPartitionOffset(partitions[0], offset: 10)])
        try writer.close()
        try reader.close()
    }

    @Test(arguments: [KafkaConfiguration.AssignmentStrategy.range, .cooperativeSticky])
    func revokeHandlerCommitsOnClose(strategy: KafkaConfiguration.AssignmentStrategy) async throws {
        let topic = "close-\(strategy.rawValue)"
        let cluster = try makeCluster(topics: [topic: 4])
        try await produceNumbered(cluster, topic: topic, count: 200, prefix: "first")
        let configuration = consumerConfiguration(cluster, group: topic).merging(["partition.assignment.strategy": strategy.rawValue])
        let log = MemberLog()
        let first = try Consumer(configuration: configuration, logger: testLogger) { log.handle($0, $1) }
        try first.subscribe([topic])
        log.markProcessed(try await pollRecords(first, count: 200))
        try first.close()
        #expect(log.commitErrors.isEmpty)
        #expect(Set(log.committedInRevoke.map(\.partition)) == [0, 1, 2, 3])

        let successor = try Consumer(configuration: configuration, logger: testLogger)
        let partitions = (0..<4).map { TopicPartition(topic: topic, partition: Int32($0)) }
        let committed = try successor.committed(partitions, timeout: .seconds(10))
        #expect(committed.reduce(0) { $0 + $1.offset } == 200)
        try successor.subscribe([topic])
        try await produceNumbered(cluster, topic: topic, count: 5, prefix: "second")
        let read = try await pollRecords(successor, count: 5, timeout: .seconds(15))
        #expect(read.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.sorted() == (0..<5).map { "second-\($0)" })
        try successor.close()
    }

    @Test func committedOffsetsSurviveAConsumerRestart() async throws {
        let cluster = try makeCluster(topics: ["restart": 1])
        try await produceNumbered(cluster, topic: "restart", count: 10)
        let configuration = consumerConfiguration(cluster, group: "restart-group")
        let partition = TopicPartition(topic: "restart", partition: 0)

        let first = try Consumer(configuration: configuration, logger: testLogger)
        try first.subscribe(["restart"])
        let records = try await pollRecords(first, count: 10)
        #expect(records.count == 10)
        // Processed 0...5: the next offset to read is 6.
        try await first.commit([TopicPartitionOffset(partition, offset: 6)])
        try first.close()

        let second = try Consumer(configuration: configuration, logger: testLogger)
        #expect(try second.committed([partition], timeout: .seconds(10)) == [TopicPartitionOffset(partition, offset: 6)])
        try second.subscribe(["restart"])
        let resumed = try await pollRecords(second, count: 4)
        #expect(resumed.map(\.offset) == [6, 7, 8, 9])
        try second.close()
    }
}

func byPartition(_ a: TopicPartition, _ b: TopicPartition) -> Bool {
    (a.topic, a.partition) < (b.topic, b.partition)
}
