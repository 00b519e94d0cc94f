import Foundation
import KafkaStreams
import RdKafka
import Synchronization

/// A Kafka cluster in memory, with Kafka's transactional semantics (KIP-98) kept exactly,
/// for tests that must not depend on a broker being right (the embedded mock broker
/// accepts transactions but does not honour them).
///
/// - Topics are lists of records per partition; keyed records are placed by murmur2, as
///   Kafka's producers place them.
/// - Records of an open transaction are invisible to `read_committed` readers (which stop
///   at the first of them: the last stable offset) until it commits; aborted records never
///   become visible to them, though `read_uncommitted` readers see them. Markers take
///   offsets, as in Kafka.
/// - Offsets sent to a transaction are committed with it, or discarded if it aborts.
/// - `initTransactions` with a transactional id aborts that id's open transaction and
///   fences older producers using it: each of their later calls fails with a fatal error.
///   A transaction open longer than its `transaction.timeout.ms` (on the simulated clock)
///   is aborted, and its producer fenced.
/// - Consumer groups assign partition p of every topic to the (p mod n)th member, with
///   eager rebalances delivered inside `poll`; members of a crashed instance leave at once.
/// - As in KIP-447, a transaction's offsets are refused when they come from a member that
///   has not yet seen the group's latest rebalance, and a member takes up newly assigned
///   partitions only once no open transaction holds offsets for them (the previous
///   owner's last commit is never missed).
///
/// Every decision (poll batch sizes, keyless placement, crashes, injected errors) comes from
/// one generator seeded with `seed`, and time is simulated: the same seed and the same
/// calls give the same run. Run an application on it through an instance's ``SimulatedInstance/clients``.
public final class SimulatedCluster: Sendable {
    let state: Mutex<ClusterState>

    /// What happened so far.
    public struct Statistics: Sendable, Hashable {
        public var crashes = 0
        public var committedTransactions = 0
        public var abortedTransactions = 0
        /// Transactions the cluster aborted because they outlived their timeout.
        public var expiredTransactions = 0
        /// Calls refused because their producer was fenced.
        public var fencedCalls = 0
        public var injectedErrors = 0
    }

    public init(seed: UInt64 = 0, injection: CrashInjection = .none) {
        state = Mutex(ClusterState(random: SeededRandom(seed: seed), injection: injection))
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Changes crash and error injection from now on.
    public func setInjection(_ injection: CrashInjection) {
        state.withLock { $0.injection = injection }
    }

    /// Milliseconds since the epoch on the simulated clock, which moves only with polls
    /// and ``advanceTime(by:)``.
    public var currentTimeMilliseconds: Int64 { state.withLock { $0.now } }

    /// Moves the simulated clock (transactions may then time out).
    public func advanceTime(by duration: Duration) {
        state.withLock {
            $0.now += duration.wholeMilliseconds
            $0.expireTransactions()
        }
    }

    /// Creates a topic (nothing happens if it exists).
    public func createTopic(_ name: String, partitions: Int) {
        precondition(partitions > 0, "a topic needs at least one partition")
        state.withLock { $0.createTopic(name, partitions: partitions) }
    }

    /// Writes a record outside any transaction (test input) and returns its offset.
    @discardableResult
    public func produce(
        _ topic: String, key: [UInt8]?, value: [UInt8]?, partition: Int32? = nil, timestamp: Int64? = nil, headers: [KafkaHeader] = []
    ) throws -> TopicPartitionOffset {
        try state.withLock { state in
            let target = try state.place(topic: topic, partition: partition, key: key)
            let entry = ClusterState.Entry(
                key: key, value: value, headers: headers, timestamp: timestamp ?? state.now, transaction: nil, isControl: false)
            return TopicPartitionOffset(target, offset: try state.append(entry, to: target))
        }
    }

    /// The records of a topic a reader with `isolation` would read, partition by
    /// partition in offset order.
    public func records(_ topic: String, isolation: IsolationLevel = .readCommitted) -> [SimulatedRecord] {
        state.withLock { state in
            guard let logs = state.topics[topic] else { return [] }
            var result: [SimulatedRecord] = []
            for (partition, log) in logs.enumerated() {
                for (index, entry) in log.entries.enumerated() where state.isVisible(entry, at: Int64(index), in: log, isolation: isolation) {
                    result.append(SimulatedRecord(
                        topic: topic, partition: Int32(partition), offset: Int64(index), key: entry.key, value: entry.value,
                        headers: entry.headers, timestamp: entry.timestamp,
                        transactionalID: entry.transaction.flatMap { state.transactions[$0]?.transactionalID },
                        outcome: state.outcome(of: entry)))
                }
            }
            return result
        }
    }

    /// The partition counts of every topic.
    public var topics: [String: Int] { state.withLock { $0.topics.mapValues(\.count) } }

    /// A group's committed offsets (the next offset to read, per partition).
    public func committedOffsets(group: String) -> [TopicPartition: Int64] {
        state.withLock { $0.groups[group]?.committed ?? [:] }
    }

    /// Whether some partition of `topics` holds a record a `read_committed` member of
    /// `group` has still to process (at or after the group's committed offset), or a
    /// transaction still open.
    public func hasUnprocessedRecords(group: String, topics: [String]) -> Bool {
        state.withLock { state in
            let committed = state.groups[group]?.committed ?? [:]
            for topic in topics {
                for (partition, log) in (state.topics[topic] ?? []).enumerated() {
                    if !log.openTransactions.isEmpty { return true }
                    let start = committed[TopicPartition(topic: topic, partition: Int32(partition))] ?? 0
                    for offset in Int(max(start, 0))..<log.entries.count
                    where state.isVisible(log.entries[offset], at: Int64(offset), in: log, isolation: .readCommitted) {
                        return true
                    }
                }
            }
            return false
        }
    }

    /// A new application instance: a process whose clients crash together.
    public func makeInstance() -> SimulatedInstance {
        SimulatedInstance(cluster: self, id: state.withLock { state in
            state.nextID += 1
            return state.nextID
        })
    }

    /// Ends the group sessions of `instance`, as when it stops heartbeating: the group
    /// gives its partitions to the other members, while the instance itself may still run
    /// (a zombie).
    public func expireSessions(of instance: SimulatedInstance) {
        state.withLock { $0.removeMembers(of: instance.id) }
    }

    // MARK: Steps of client calls

    /// Runs one client call of `instance` under the lock: refuses it if the instance is
    /// dead, and may kill the instance before or after the call takes effect.
    func step<T>(_ instance: SimulatedInstance, _ step: SimulatedStep, _ body: (inout ClusterState) throws -> T) throws -> T {
        instance.waitIfHeld(at: step)
        return try state.withLock { state in
            try Self.crashIfDue(instance, step, &state)
            let result = try body(&state)
            try Self.crashIfDue(instance, step, &state)
            return result
        }
    }

    /// Throws ``SimulatedCrash`` if the instance is dead, or dies now.
    static func crashIfDue(_ instance: SimulatedInstance, _ step: SimulatedStep, _ state: inout ClusterState) throws {
        if state.crashedInstances.contains(instance.id) { throw SimulatedCrash(step: step) }
        guard state.statistics.crashes < state.injection.maxCrashes, state.random.chance(state.injection.crashProbability) else { return }
        crash(instance, &state)
        throw SimulatedCrash(step: step)
    }

    static func crash(_ instance: SimulatedInstance, _ state: inout ClusterState) {
        state.crashedInstances.insert(instance.id)
        state.statistics.crashes += 1
        // The process is gone: the group notices at once (a session timeout, shortened).
        state.removeMembers(of: instance.id)
    }

    /// Throws an injected abortable error, by chance.
    static func injectedError(_ step: SimulatedStep, _ state: inout ClusterState) -> KafkaError? {
        guard state.random.chance(state.injection.abortableErrorProbability) else { return nil }
        state.statistics.injectedErrors += 1
        return KafkaError(code: .notEnoughReplicas, message: "\(injectedErrorMessage) at \(step)", classification: .abortable)
    }

    private static let injectedErrorMessage = "injected abortable error"

    /// Whether an application stopped because of injected errors: a thread gives up after
    /// too many aborted transactions in a row, which a long transaction meets by chance at
    /// the injected errors' rate per send. A supervisor restarts such an application.
    public static func isInjectedError(_ error: any Error) -> Bool {
        switch error {
        case let error as KafkaError: error.message.hasPrefix(injectedErrorMessage)
        case let error as StreamsError: error.underlying.map(isInjectedError) ?? false
        default: false
        }
    }
}

/// One application instance (a process) on a ``SimulatedCluster``: give its ``clients``
/// to ``StreamsConfiguration/clients``. When the cluster crashes the instance, every one
/// of its clients fails with ``SimulatedCrash`` from then on; a restart is a new instance.
public final class SimulatedInstance: Sendable {
    public let cluster: SimulatedCluster
    let id: Int
    private let holds = Mutex<[SimulatedStep: SimulatedHold]>([:])
    private let idleHandler = Mutex<(@Sendable () -> Void)?>(nil)

    init(cluster: SimulatedCluster, id: Int) {
        self.cluster = cluster
        self.id = id
    }

    /// The clients of this instance, for ``StreamsConfiguration/clients``.
    public var clients: KafkaClients { KafkaClients(SimulatedClientFactory(instance: self)) }

    /// Whether the cluster crashed this instance.
    public var hasCrashed: Bool { cluster.state.withLock { $0.crashedInstances.contains(id) } }

    /// Kills the instance now, as a crash injected at a step would.
    public func crash() {
        cluster.state.withLock { state in
            if !state.crashedInstances.contains(id) { SimulatedCluster.crash(self, &state) }
        }
    }

    /// Makes the next call of this instance at `step` wait until the hold is released:
    /// to stall a process at a chosen point (a zombie) while others run.
    public func hold(at step: SimulatedStep) -> SimulatedHold {
        let hold = SimulatedHold()
        holds.withLock { $0[step] = hold }
        return hold
    }

    /// Runs `handler` on the polling thread each time a poll of this instance finds no
    /// record (e.g. to stop the application once all input is processed).
    public func onIdlePoll(_ handler: (@Sendable () -> Void)?) {
        idleHandler.withLock { $0 = handler }
    }

    func idle() { idleHandler.withLock { $0 }?() }

    func waitIfHeld(at step: SimulatedStep) {
        guard let hold = holds.withLock({ $0.removeValue(forKey: step) }) else { return }
        hold.block()
    }
}

/// A call held at a step (see ``SimulatedInstance/hold(at:)``).
public final class SimulatedHold: Sendable {
    private let reached = Atomic<Bool>(false)
    private let released = DispatchSemaphore(value: 0)

    /// Whether a call is waiting at the hold.
    public var isReached: Bool { reached.load(ordering: .acquiring) }

    /// Waits (polling, off any thread the held call needs) until a call reaches the hold.
    public func waitUntilReached(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !isReached {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Lets the held call go on.
    public func release() { released.signal() }

    func block() {
        reached.store(true, ordering: .releasing)
        released.wait()
    }
}

