import KafkaStreams
import RdKafka

/// A consumer of a simulated cluster: a group member (eager rebalances, delivered inside
/// `poll`) or a reader of assigned partitions. Used by one thread at a time.
final class SimulatedConsumer: StreamsConsumer {
    private let instance: SimulatedInstance
    private let group: String?
    private let isolation: IsolationLevel
    private let onRebalance: ((RebalanceEvent) -> Void)?
    private var topics: [String] = []
    private var memberID: String?
    private var knownGeneration: Int32 = -1
    private var assignment: [TopicPartition] = []
    private var positions: [TopicPartition: Int64] = [:]
    private var paused: Set<TopicPartition> = []
    /// Copies of the bytes of records the caller kept, by lease.
    private var kept: [UInt: KeptBytes] = [:]
    private var nextLease: UInt = 1
    private var cluster: SimulatedCluster { instance.cluster }

    init(instance: SimulatedInstance, group: String?, configuration: KafkaConfiguration, onRebalance: ((RebalanceEvent) -> Void)?) {
        self.instance = instance
        self.group = group
        isolation = configuration["isolation.level"] == "read_committed" ? .readCommitted : .readUncommitted
        self.onRebalance = onRebalance
    }

    func subscribe(_ topics: [String]) throws {
        guard group != nil else { throw KafkaError(code: .invalidArgument, message: "subscribe needs group.id", classification: .permanent) }
        self.topics = topics
        try join()
    }

    private func join() throws {
        guard let group else { return }
        memberID = try cluster.step(instance, .other) { state in
            state.nextID += 1
            let member = "member-\(state.nextID)"
            state.groups[group, default: ClusterState.GroupState()].members[member] = (instance.id, topics)
            state.groups[group]!.generation += 1
            return member
        }
        knownGeneration = -1
    }

    func assign(_ partitions: [TopicPartitionOffset]) throws {
        try cluster.step(instance, .other) { _ in }
        assignment = partitions.map(\.topicPartition)
        positions = Dictionary(partitions.map { ($0.topicPartition, max($0.offset, 0)) }) { _, last in last }
    }

    // MARK: Polling

    func poll(
        maxRecords: Int, timeout: Duration, keeping body: (PolledRecord) throws -> Bool, endOfPartition: (TopicPartition) -> Void
    ) throws -> Int {
        try rebalanceIfNeeded()
        let (batch, crashAfter, ended) = try cluster.step(instance, .poll) { state in try fetch(maxRecords: maxRecords, timeout: timeout, &state) }
        for (index, record) in batch.enumerated() {
            if index == crashAfter { throw SimulatedCrash(step: .poll) }
            // A copy, so that a kept record's bytes outlive this call as librdkafka's do.
            let bytes = KeptBytes(key: record.key, value: record.value)
            let lease = nextLease
            nextLease += 1
            let keep: Bool
            do {
                keep = try body(PolledRecord(
                    topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp,
                    key: bytes.key, value: bytes.value, headers: record.headers, lease: lease))
            } catch {
                bytes.free()
                throw error
            }
            if keep { kept[lease] = bytes } else { bytes.free() }
        }
        for partition in ended where assignment.contains(partition) { endOfPartition(partition) }
        // Only a group member's polls: an idle reader says nothing about the input.
        if batch.isEmpty && memberID != nil { instance.idle() }
        return batch.count
    }

    func release(_ leases: [UInt]) {
        for lease in leases { kept.removeValue(forKey: lease)?.free() }
    }

    func pause(_ partitions: [TopicPartition]) throws { paused.formUnion(partitions) }

    func resume(_ partitions: [TopicPartition]) throws { paused.subtract(partitions) }

    /// Takes up to `maxRecords` visible records from the assigned partitions (a random
    /// share from each, in partition order) and moves past them; may decide the instance
    /// dies partway through handing them out.
    private func fetch(
        maxRecords: Int, timeout: Duration, _ state: inout ClusterState
    ) throws -> ([SimulatedRecord], Int?, ended: [TopicPartition]) {
        var batch: [SimulatedRecord] = []
        var ended: [TopicPartition] = []
        for partition in assignment where !paused.contains(partition) {
            guard batch.count < maxRecords, let log = try? state.log(partition) else { continue }
            let share = 1 + Int(state.random.next() % UInt64(max(maxRecords - batch.count, 1)))
            var position = positions[partition] ?? 0
            let end = isolation == .readCommitted ? log.lastStableOffset : log.highWatermark
            var taken = 0
            while position < end && taken < share {
                let entry = log.entries[Int(position)]
                if state.isVisible(entry, at: position, in: log, isolation: isolation) {
                    batch.append(SimulatedRecord(
                        topic: partition.topic, partition: partition.partition, offset: position, key: entry.key, value: entry.value,
                        headers: entry.headers, timestamp: entry.timestamp, transactionalID: nil, outcome: state.outcome(of: entry)))
                    taken += 1
                }
                position += 1
            }
            positions[partition] = position
            if position >= end { ended.append(partition) }
        }
        state.now += batch.isEmpty ? max(timeout.wholeMilliseconds, 1) : 1
        state.expireTransactions()
        // A crash partway through a batch: the records before it were processed.
        var crashAfter: Int?
        if !batch.isEmpty, state.statistics.crashes < state.injection.maxCrashes,
            state.random.chance(state.injection.crashProbability * Double(batch.count))
        {
            crashAfter = Int(state.random.next() % UInt64(batch.count))
            SimulatedCluster.crash(instance, &state)
        }
        return (batch, crashAfter, ended)
    }

    /// Delivers a rebalance the group went through since the last poll: revocation (or
    /// loss, when the group dropped this member) of the whole assignment, then the new one.
    private func rebalanceIfNeeded() throws {
        guard let group, let member = memberID else { return }
        let (current, stillMember) = try cluster.step(instance, .other) { state in
            (state.groups[group]?.generation ?? -1, state.groups[group]?.members[member] != nil)
        }
        guard current != knownGeneration || !stillMember else { return }
        if !assignment.isEmpty { onRebalance?(stillMember ? .revoked(assignment) : .lost(assignment)) }
        assignment = []
        positions = [:]
        paused = []
        if !stillMember { try join() }
        guard let member = memberID else { return }
        let joined = try cluster.step(instance, .other) { state -> (Int32, [TopicPartition], [Int64])? in
            let assigned = state.assignment(group: group, member: member)
            // Offsets an open transaction sent for these partitions are not stable yet: the
            // coordinator answers the fetch of committed offsets with UNSTABLE_OFFSET_COMMIT
            // until it ends (KIP-447), so the previous owner's last commit is never missed.
            guard !state.hasPendingOffsets(group: group, for: assigned) else { return nil }
            let committed = state.groups[group]?.committed ?? [:]
            return (state.groups[group]?.generation ?? -1, assigned, assigned.map { committed[$0] ?? 0 })
        }
        // Retried at the next poll; meanwhile the simulated clock runs on, so a transaction
        // a dead member left open times out.
        guard let (generation, assigned, starts) = joined else { return }
        knownGeneration = generation
        assignment = assigned
        positions = Dictionary(uniqueKeysWithValues: zip(assigned, starts))
        if !assigned.isEmpty { onRebalance?(.assigned(assigned)) }
    }

    // MARK: Offsets

    func commit(_ offsets: [TopicPartitionOffset]) throws {
        guard let group, let member = memberID else {
            throw KafkaError(code: .invalidArgument, message: "commit needs group.id", classification: .permanent)
        }
        try cluster.step(instance, .commitOffsets) { state in
            guard state.groups[group]?.members[member] != nil else {
                throw KafkaError(code: .unknownMemberID, message: "member \(member) left group \(group)", classification: .permanent)
            }
            for offset in offsets { state.groups[group]!.commit(offset.offset, metadata: offset.metadata, for: offset.topicPartition) }
        }
    }

    func committed(_ partitions: [TopicPartition], timeout: Duration) throws -> [TopicPartitionOffset] {
        try cluster.step(instance, .other) { state in
            let committed = group.flatMap { state.groups[$0] } ?? ClusterState.GroupState()
            return partitions.map { TopicPartitionOffset($0, offset: committed.committed[$0] ?? KafkaOffset.invalid, metadata: committed.metadata[$0]) }
        }
    }

    func seek(_ offsets: [TopicPartitionOffset], timeout: Duration) throws {
        try cluster.step(instance, .other) { _ in }
        for offset in offsets { positions[offset.topicPartition] = max(offset.offset, 0) }
    }

    func position(_ partitions: [TopicPartition]) throws -> [TopicPartitionOffset] {
        try cluster.step(instance, .other) { _ in }
        return partitions.map { TopicPartitionOffset($0, offset: positions[$0] ?? KafkaOffset.invalid) }
    }

    func queryWatermarks(topic: String, partition: Int32, timeout: Duration) throws -> Watermarks {
        try cluster.step(instance, .other) { state in
            let log = try state.log(TopicPartition(topic: topic, partition: partition))
            return Watermarks(low: 0, high: isolation == .readCommitted ? log.lastStableOffset : log.highWatermark)
        }
    }

    func groupMetadata() throws -> GroupMetadata {
        guard let group, let memberID else { throw KafkaError(code: .state, message: "no group", classification: .permanent) }
        return GroupMetadata(groupID: group, generationID: knownGeneration, memberID: memberID)
    }

    func close() throws {
        guard let group, let member = memberID else { return }
        try cluster.step(instance, .other) { _ in }
        if !assignment.isEmpty { onRebalance?(.revoked(assignment)) }
        assignment = []
        memberID = nil
        try cluster.step(instance, .other) { state in
            if state.groups[group]?.members.removeValue(forKey: member) != nil { state.groups[group]!.generation += 1 }
        }
    }

}
