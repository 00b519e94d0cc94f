import Foundation
import Logging
import RdKafka
import RocksDB
import ServiceLifecycle
import Synchronization

/// Runs a ``Topology`` against Kafka: a swift-service-lifecycle `Service`.
///
/// ```swift
/// let app = try StreamsApp(topology: try builder.build(), configuration: configuration, logger: logger)
/// let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// ``run()`` checks the topics (see ``StreamsError/Kind``), starts
/// ``StreamsConfiguration/streamThreads`` stream threads and returns once they have stopped
/// after a final commit: on graceful shutdown, task cancellation or ``shutdown()``. It
/// throws the error that stopped a thread (an error handler's `.fail`, say); the other
/// threads then stop too, committing what they processed.
public final class StreamsApp: Service, Sendable {
    let configuration: StreamsConfiguration
    let plan: ExecutionPlan
    let logger: Logger
    private let threads = Mutex<[StreamThread]>([])
    private let globalThread = Mutex<GlobalStateThread?>(nil)
    private let stopped = Atomic<Bool>(false)
    /// Set by ``simulateCrash()``: what a dead process would not do is left undone.
    let crashSimulated = Atomic<Bool>(false)
    private let registry = LocalStoreRegistry()
    private let processingPause = ProcessingPause()
    /// Which instance runs which tasks, while running with an ``StreamsConfiguration/applicationServer``.
    let directory = Mutex<InstanceDirectory?>(nil)
    /// Each task-local store's sub-topology and its number of tasks, once the topics are known.
    let storeTasks = Mutex<[String: (subtopology: Int, partitions: Int)]>([:])

    /// Validates the configuration and the topology; nothing connects yet.
    public init(topology: Topology, configuration: StreamsConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        plan = ExecutionPlan(topology: topology, applicationID: configuration.applicationID)
        guard !plan.sourceTopics.isEmpty else { throw StreamsError(.topology, "the topology reads no topic") }
        var logger = logger
        logger[metadataKey: "application.id"] = "\(configuration.applicationID)"
        self.logger = logger
    }

    public func run() async throws {
        let plan = plan
        let configuration = configuration
        let logger = logger
        // Under exactly-once the instance id names the transactional ids, so it must
        // survive restarts; otherwise a fresh one tells this run's clients apart.
        let (instanceID, directoryLock, partitionCounts) = try await onOwnThread(named: "streams:startup") {
            let lock = try Self.lockStateDirectory(plan: plan, configuration: configuration)
            do {
                let counts = try plan.prepareTopics(configuration: configuration, logger: logger)
                guard configuration.processingGuarantee == .exactlyOnce else {
                    return (String(UInt32.random(in: 0...UInt32.max), radix: 16), lock, counts)
                }
                return (try ProcessIdentity.load(stateDirectory: configuration.stateDirectory, applicationID: configuration.applicationID), lock, counts)
            } catch {
                lock?.release()
                throw error
            }
        }
        defer { directoryLock?.release() }
        let bounded = try await startBoundedRun(partitionCounts: partitionCounts)
        let clientID = "\(configuration.applicationID)-\(instanceID)"
        // One memory budget for every persistent store of the application, as the
        // number of stores and partitions grows.
        let resources = plan.hasPersistentStores
            ? RocksDBResources(blockCacheBytes: configuration.stateStoreBlockCacheBytes, writeBufferBytes: configuration.stateStoreWriteBufferBytes)
            : nil
        let global: GlobalStateThread?
        do {
            global = try await startGlobalState(partitionCounts: partitionCounts, resources: resources)
        } catch {
            bounded?.stop()
            throw error
        }
        let globalExit = Mutex<(any Error)?>(nil)
        global?.start(name: "\(clientID)-GlobalStreamThread") { [self] error in
            guard let error else { return }
            globalExit.withLock { $0 = error }
            shutdown()
        }
        let outcome: Result<Void, any Error>
        do {
            try await runStreamThreads(clientID: clientID, resources: resources, global: global, bounded: bounded, partitionCounts: partitionCounts)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        if let global {
            // The stream threads are done reading the global stores.
            registry.remove(GlobalStateThread.task)
            _ = try? await onOwnThread(named: "streams:global") { Self.stopGlobalState(global) }
        }
        try outcome.get()
        if let failure = globalExit.withLock({ $0 }) {
            logger.error("stopped by an error: \(failure)")
            throw failure
        }
        logger.info("stopped")
    }

    /// Starts the stream threads and waits until they have stopped; throws the error that
    /// stopped the first one to fail.
    private func runStreamThreads(
        clientID: String, resources: RocksDBResources?, global: GlobalStateThread?, bounded: BoundedRunMonitor?, partitionCounts: [String: Int]
    ) async throws {
        let (plan, configuration, logger) = (plan, configuration, logger)
        // Before the threads, so that their first tasks are announced.
        let directory = try await startDirectory(clientID: clientID, partitionCounts: partitionCounts)
        let exits = ThreadExits(count: configuration.streamThreads)
        let finish = configuration.boundedRun?.closesWindowsAtEnd == true
            ? InputFinish(
                levels: Topology.levels(of: plan.subtopologies),
                marked: plan.finishMarkPartitions(counts: partitionCounts, applicationID: configuration.applicationID),
                threadNames: (1...configuration.streamThreads).map { StreamThread.name(index: $0, clientID: clientID) })
            : nil
        let started = (1...configuration.streamThreads).map {
            StreamThread(
                index: $0, clientID: clientID, plan: plan, configuration: configuration, resources: resources, registry: registry,
                globalStores: global?.stores ?? [:], inputEnds: bounded?.span.ends, inputFinish: finish, pause: processingPause,
                logger: logger)
        }
        threads.withLock { $0 = started }
        defer { bounded?.stop() }
        if stopped.load(ordering: .acquiring) {
            if let directory { await stopDirectory(directory) }
            return
        }
        for thread in started {
            thread.start { [self] error in
                // One thread's failure stops the application.
                if error != nil { shutdown() }
                exits.record(error)
            }
        }
        // Done: the threads commit (nothing is left) and stop, as on shutdown.
        bounded?.start(finish: finish, taskCount: plan.taskCount(partitionCounts: partitionCounts, applicationID: configuration.applicationID)) { [self] in shutdown() }
        logger.info("running", metadata: ["threads": "\(started.count)", "topics": "\(plan.sourceTopics)"])
        let failure = await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await exits.waitForAll()
            } onCancel: {
                self.shutdown()
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
        if let directory { await stopDirectory(directory) }
        if let failure {
            logger.error("stopped by an error: \(failure)")
            throw failure
        }
    }

    /// Captures the ends of a bounded run's input (nil when the run is not bounded).
    private func startBoundedRun(partitionCounts: [String: Int]) async throws -> BoundedRunMonitor? {
        guard let run = configuration.boundedRun else { return nil }
        let (plan, configuration, logger) = (plan, configuration, logger)
        return try await onOwnThread(named: "streams:bounded") {
            let positions = try InputPositions(configuration: configuration, logger: logger)
            do {
                let (external, repartition) = plan.sourcePartitions(counts: partitionCounts, applicationID: configuration.applicationID)
                let span = try BoundedRunMonitor.Span.capture(external: external, repartition: repartition, end: run.end, positions: positions)
                return BoundedRunMonitor(span: span, run: run, positions: positions, applicationID: configuration.applicationID, logger: logger)
            } catch {
                positions.close()
                throw StreamsError(.kafka, "cannot read where the bounded run's input ends", underlying: error)
            }
        }
    }

    /// How far the application's consumer group trails its input topics (repartition
    /// topics aside): per partition and in total. A replaying version has caught up when
    /// its lag is near zero; the lag of a bounded run is what it has left. Reads the
    /// group's committed offsets, so it counts every instance, and works whether or not
    /// this instance runs.
    public func inputLag() async throws -> InputLag {
        let (plan, configuration, logger) = (plan, configuration, logger)
        return try await onOwnThread(named: "streams:lag") {
            let admin = try ExecutionPlan.makeAdmin(configuration: configuration, logger: logger)
            let counts = try { defer { admin.close() }; return try admin.partitionCounts(timeout: .seconds(30)) }()
            let positions = try InputPositions(configuration: configuration, logger: logger)
            defer { positions.close() }
            return try positions.lag(plan.sourcePartitions(counts: counts, applicationID: configuration.applicationID).external)
        }
    }

    /// Opens the global stores and reads their topics to the end, before any stream thread
    /// starts (queries meanwhile hear that they are restoring); nil without global stores.
    private func startGlobalState(partitionCounts: [String: Int], resources: RocksDBResources?) async throws -> GlobalStateThread? {
        guard !plan.topology.globalStores.isEmpty else { return nil }
        let (plan, configuration, logger, registry) = (plan, configuration, logger, registry)
        let global = try await onOwnThread(named: "streams:global") {
            try GlobalStateThread(topology: plan.topology, configuration: configuration, partitionCounts: partitionCounts, resources: resources, logger: logger)
        }
        globalThread.withLock { $0 = global }
        registry.register(GlobalStateThread.task, stores: global.stores)
        do {
            try await onOwnThread(named: "streams:global") { try global.bootstrap() }
        } catch {
            registry.remove(GlobalStateThread.task)
            _ = try? await onOwnThread(named: "streams:global") { Self.stopGlobalState(global, started: false) }
            throw error
        }
        registry.markRestored(GlobalStateThread.task)
        return global
    }

    /// Stops the global-state thread once the stream threads are done reading its stores,
    /// and closes them. Blocking, briefly (the thread polls in short steps).
    private static func stopGlobalState(_ global: GlobalStateThread, started: Bool = true) {
        global.requestStop()
        global.close(started: started)
    }

    /// Locks `<stateDirectory>/<applicationID>` for this run when the application keeps
    /// anything there (persistent stores, or the instance id of exactly-once): a second
    /// instance on the same directory would share the first one's transactional ids and
    /// tasks' stores, and the two would fence each other forever.
    private static func lockStateDirectory(plan: ExecutionPlan, configuration: StreamsConfiguration) throws -> StateDirectoryLock? {
        let usesDirectory = configuration.processingGuarantee == .exactlyOnce || plan.hasPersistentStores
        guard usesDirectory else { return nil }
        let directory = "\(configuration.stateDirectory)/\(configuration.applicationID)"
        return try StateDirectoryLock(
            directory: directory,
            heldMessage: "another instance of application \(configuration.applicationID) runs on state directory \(directory); "
                + "give each instance a stateDirectory of its own")
    }

    /// Every topic the stream threads read (internal topics by their full name).
    public var sourceTopics: [String] { plan.sourceTopics }

    /// The tasks this instance runs now, over all its threads: which partitions of which
    /// sub-topologies the group gave it.
    public var activeTasks: Set<TaskID> {
        threads.withLock { $0 }.reduce(into: []) { $0.formUnion($1.activeTasks) }
    }

    /// Each stream thread of this instance with its state and tasks; empty before
    /// ``run()`` starts the threads.
    public func metadataForLocalThreads() -> [ThreadMetadata] {
        threads.withLock { $0 }.map { thread in
            ThreadMetadata(
                threadName: thread.name, state: thread.hasRestoredAssignment.load(ordering: .acquiring) ? .running : .starting,
                activeTasks: thread.activeTasks)
        }
    }

    /// A read-only view of the store called `name` over the tasks this instance runs (a
    /// global table's store holds every key on every instance): an interactive query. Safe
    /// to use from any thread while the application runs; each call reads the tasks' stores
    /// as they are at that moment (records cached for the next commit included).
    ///
    /// Calls throw ``StoreUnavailableError`` while a task of the store is restoring
    /// (``StoreUnavailableError/Reason/restoring``), when this instance holds none of its
    /// partitions (``StoreUnavailableError/Reason/notHosted``: the others hold the rest of
    /// the keys), or when a task closed during the call; ``StreamsError`` when the store
    /// holds other types. Reads are synchronous RocksDB reads: from async code, keep scans
    /// small or run them on a thread of your own.
    ///
    /// - Throws: ``StreamsError`` of kind `.topology` when the topology has no such store.
    public func store<Key, Value>(
        named name: String, key: Key.Type = Key.self, value: Value.Type = Value.self
    ) throws -> any ReadOnlyKeyValueStore<Key, Value> {
        guard plan.topology.stores[name] != nil || plan.topology.globalStores[name] != nil else {
            let names = (Array(plan.topology.stores.keys) + plan.topology.globalStores.keys).sorted()
            throw StreamsError(.topology, "the topology has no store named \(name) (stores: \(names))")
        }
        return LocalKeyValueStoreView<Key, Value>(name: name, registry: registry)
    }

    /// A read-only view of the window store called `name` (a windowed aggregation's) over
    /// the tasks this instance runs, with the same availability errors as
    /// ``store(named:key:value:)``.
    ///
    /// - Throws: ``StreamsError`` of kind `.topology` when the topology has no such store.
    public func windowStore<Key, Value>(
        named name: String, key: Key.Type = Key.self, value: Value.Type = Value.self
    ) throws -> any ReadOnlyWindowStore<Key, Value> {
        guard plan.topology.stores[name] != nil else {
            throw StreamsError(.topology, "the topology has no store named \(name) (stores: \(plan.topology.stores.keys.sorted()))")
        }
        return LocalWindowStoreView<Key, Value>(name: name, registry: registry)
    }

    /// A read-only view of the session store called `name` (a session aggregation's), with
    /// the same availability errors as ``store(named:key:value:)``.
    ///
    /// - Throws: ``StreamsError`` of kind `.topology` when the topology has no such store.
    public func sessionStore<Key, Value>(
        named name: String, key: Key.Type = Key.self, value: Value.Type = Value.self
    ) throws -> any ReadOnlySessionStore<Key, Value> {
        guard plan.topology.stores[name] != nil else {
            throw StreamsError(.topology, "the topology has no store named \(name) (stores: \(plan.topology.stores.keys.sorted()))")
        }
        return LocalSessionStoreView<Key, Value>(name: name, registry: registry)
    }

    /// Pauses processing, as Kafka Streams' `pause()`: the stream threads stop fetching
    /// and processing records, punctuating on wall-clock time and closing windows at a
    /// bounded run's end, but stay in the group (a rebalance still assigns them tasks,
    /// which restore their stores and then wait) and keep committing. May be called before
    /// ``run()``: the application then starts paused. The global stores keep updating.
    ///
    /// Records the consumers fetched ahead are dropped and fetched again on ``resume()``,
    /// and records a task had queued wait in its queue: nothing is skipped. A poll under
    /// way finishes first.
    public func pause() {
        processingPause.set(true)
        logger.info("pause requested")
    }

    /// Resumes processing after ``pause()``, from where each partition stopped.
    public func resume() {
        processingPause.set(false)
        logger.info("resume requested")
    }

    /// Whether ``pause()`` is in effect.
    public var isPaused: Bool { processingPause.isPaused }

    /// Stops every stream thread as if the process died (no final commit or flush);
    /// ``run()`` then returns. For tests of crash recovery.
    package func simulateCrash() {
        crashSimulated.store(true, ordering: .releasing)
        stopped.store(true, ordering: .releasing)
        globalThread.withLock { $0 }?.requestStop()
        for thread in threads.withLock({ $0 }) { thread.simulateCrash() }
    }

    /// Asks every stream thread to commit and stop; ``run()`` then returns.
    public func shutdown() {
        stopped.store(true, ordering: .releasing)
        globalThread.withLock { $0 }?.requestStop()
        for thread in threads.withLock({ $0 }) { thread.requestStop() }
    }
}

/// Collects the exits of the stream threads and wakes the waiter when all have ended.
private final class ThreadExits: Sendable {
    private struct State {
        var remaining: Int
        var firstError: (any Error)?
        var waiter: CheckedContinuation<(any Error)?, Never>?
    }

    private let state: Mutex<State>

    init(count: Int) { state = Mutex(State(remaining: count)) }

    func record(_ error: (any Error)?) {
        let resume: (CheckedContinuation<(any Error)?, Never>, (any Error)?)? = state.withLock { state in
            state.remaining -= 1
            if state.firstError == nil { state.firstError = error }
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.firstError)
        }
        if let (waiter, error) = resume { waiter.resume(returning: error) }
    }

    func waitForAll() async -> (any Error)? {
        await withCheckedContinuation { continuation in
            let done: (any Error)?? = state.withLock { state in
                if state.remaining == 0 { return .some(state.firstError) }
                state.waiter = continuation
                return .none
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}

/// Runs blocking client calls on a new thread, off Swift's cooperative pool.
package func onOwnThread<T: Sendable>(named name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        startThread(named: name) { continuation.resume(with: Result { try body() }) }
    }
}
