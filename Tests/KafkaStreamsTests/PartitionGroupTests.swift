import Logging
import RdKafka
import Testing

@testable import KafkaStreams

/// The queues of a task reading several partitions, below the runtime: choice, bounds,
/// idling, and the offsets a commit may store.
@Suite struct PartitionGroupTests {
    let left = TopicPartition(topic: "left", partition: 0)
    let right = TopicPartition(topic: "right", partition: 0)

    func group(maxTaskIdle: Int64? = 0, bound: Int = 1000) -> PartitionGroup {
        PartitionGroup(partitions: [(left, input: 0), (right, input: 1)], maxTaskIdle: maxTaskIdle, maxBufferedPerPartition: bound)
    }

    func queued(_ topic: String, offset: Int64, at time: Int64) -> QueuedRecord {
        QueuedRecord(
            record: PolledRecord(topic: topic, partition: 0, offset: offset, timestamp: time, key: nil, value: nil, headers: [], lease: UInt(offset + 1)),
            orderingTime: time)
    }

    /// Takes records while the group is ready at `now`; returns "topic@offset".
    func drain(_ group: PartitionGroup, now: Int64 = 0) -> [String] {
        var taken: [String] = []
        while group.readiness(now: now) != .waiting, let (next, _) = group.next() {
            taken.append("\(next.record.topic)@\(next.record.offset)")
        }
        return taken
    }

    @Test func theSmallestHeadGoesFirstAndEachPartitionKeepsOffsetOrder() {
        let group = group()
        for (offset, time) in [(0, 5), (1, 1), (2, 9)] { _ = group.add(queued("left", offset: Int64(offset), at: Int64(time)), to: 0) }
        for (offset, time) in [(0, 3), (1, 9)] { _ = group.add(queued("right", offset: Int64(offset), at: Int64(time)), to: 1) }
        var order: [String] = []
        while let (next, _) = group.next() { order.append("\(next.record.topic)@\(next.record.offset)") }
        // 5 vs 3, then 5 vs 9, 1 vs 9, 9 vs 9 (a tie: the first partition).
        #expect(order == ["right@0", "left@0", "left@1", "left@2", "right@1"])
        #expect(group.queues.map(\.partitionTime) == [9, 9])
    }

    @Test func aFullPartitionIsPausedOnceAndResumedAtHalfTheBound() {
        let group = group(bound: 4)
        let pauses = (0..<Int64(7)).map { group.add(queued("left", offset: $0, at: $0), to: 0) }
        #expect(pauses == [false, false, false, false, true, false, false])
        _ = group.add(queued("right", offset: 0, at: 100), to: 1)
        #expect(group.takeResumable().isEmpty)
        for _ in 0..<4 { _ = group.next() }
        #expect(group.takeResumable().isEmpty, "3 left: above half the bound")
        _ = group.next()
        #expect(group.takeResumable() == [left])
        #expect(group.takeResumable().isEmpty)
        // Nothing lost or reordered: the rest of left, then (left read to its end) right.
        group.reachedEnd(0)
        #expect(drain(group) == ["left@5", "left@6", "right@0"])
    }

    @Test func aPartitionThatMayStillHaveDataIsAlwaysWaitedFor() {
        let group = group(maxTaskIdle: 0)
        _ = group.add(queued("left", offset: 0, at: 1), to: 0)
        #expect(group.readiness(now: 1_000_000) == .waiting, "right was never read to its end")
        group.reachedEnd(1)
        #expect(group.readiness(now: 1_000_000) == .enforced)
    }

    @Test func aCaughtUpPartitionIsWaitedForUpToTheIdleTime() {
        let group = group(maxTaskIdle: 500)
        group.reachedEnd(1)
        _ = group.add(queued("left", offset: 0, at: 1), to: 0)
        #expect(group.readiness(now: 1_000) == .waiting)
        #expect(group.readiness(now: 1_499) == .waiting)
        #expect(group.readiness(now: 1_500) == .enforced)
        // A record of right ends the wait; once right is empty again, a new wait starts.
        _ = group.add(queued("right", offset: 0, at: 2), to: 1)
        #expect(group.readiness(now: 1_500) == .ready)
        #expect(drain(group, now: 1_500) == ["left@0"])
        _ = group.add(queued("left", offset: 1, at: 3), to: 0)
        #expect(drain(group, now: 1_500) == ["right@0"])
        group.reachedEnd(1)
        #expect(group.readiness(now: 1_600) == .waiting)
        #expect(group.readiness(now: 2_100) == .enforced)
    }

    @Test func withoutIdlingAnyBufferedRecordIsProcessed() {
        let group = group(maxTaskIdle: nil)
        #expect(group.readiness(now: 0) == .waiting, "nothing buffered")
        _ = group.add(queued("right", offset: 0, at: 7), to: 1)
        #expect(drain(group) == ["right@0"])
    }

    @Test func clearingReturnsEveryLeaseAndThePausedPartitions() {
        let group = group(bound: 1)
        for offset in 0..<Int64(3) { _ = group.add(queued("left", offset: offset, at: offset), to: 0) }
        _ = group.add(queued("right", offset: 0, at: 0), to: 1)
        let cleared = group.clear()
        #expect(cleared.leases.sorted() == [1, 1, 2, 3])
        #expect(cleared.paused == [left])
        #expect(group.bufferedCount == 0)
        #expect(group.next() == nil)
    }

    // MARK: A task's commits

    final class DiscardingCollector: RecordCollector {
        func send(
            topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RecordHeader], timestamp: Int64,
            source: () -> SourceCoordinates?
        ) throws {}
        func sendChange(topic: String, partition: Int32, key: [UInt8], value: [UInt8]?, timestamp: Int64, tracker: ChangelogTracker) throws {}
    }

    @Test func aCommitStoresOnlyTheOffsetsOfProcessedRecords() throws {
        let builder = StreamsBuilder()
        builder.stream(["left", "right"], key: .optional(.string), value: .optional(.string)).to("out")
        let topology = try builder.build()
        let context = TaskContext(
            id: TaskID(subtopology: 0, partition: 0), applicationID: "commits", logger: Logger(label: "partition-group-tests"),
            clock: WallClock { 0 }, collector: DiscardingCollector(), defaultSerdes: DefaultSerdes(key: nil, value: nil))
        let leases = RecordLeases()
        let task = try StreamTask(
            subtopology: topology.subtopologies()[0], topology: topology, context: context, handlers: ErrorHandlers(),
            stateDirectory: "/nonexistent", resources: nil, queueing: QueueSettings(maxTaskIdle: .seconds(10)), leases: leases)
        defer { task.close() }
        func record(_ topic: String, _ offset: Int64, at time: Int64) -> PolledRecord {
            PolledRecord(topic: topic, partition: 0, offset: offset, timestamp: time, key: nil, value: nil, headers: [], lease: UInt(100 + offset))
        }
        for (offset, time) in [(0, 10), (1, 20), (2, 30)] { _ = try task.enqueue(record("left", Int64(offset), at: Int64(time))) }
        _ = try task.enqueue(record("right", 7, at: 25))
        _ = try task.processQueued(now: nil)
        // left@0 (10) and left@1 (20) are done; right@7 (25) comes next and is processed;
        // then right is empty and left@2 waits.
        #expect(task.queuedCount == 1)
        #expect(Set(task.uncommittedOffsets) == [
            TopicPartitionOffset(left, offset: 2), TopicPartitionOffset(right, offset: 8),
        ])
        #expect(leases.take() == [100, 101, 107])
        #expect(task.close().isEmpty)
        #expect(leases.take() == [102], "the queued record's lease comes back when the task closes")
    }
}
