import Dispatch
import Foundation
import Logging
import RdKafka
import Synchronization

/// Which instance of the application runs which tasks, for
/// ``StreamsApp/metadata(forKey:store:keySerde:)``. Kafka Streams learns it from its own
/// assignor's data, which librdkafka cannot carry; so each instance publishes its endpoint
/// and its active tasks on the one-partition compacted topic `<applicationId>-instances`
/// whenever they change, keyed by its instance id (a tombstone when it stops), and reads
/// every instance's announcements back.
///
/// After a rebalance two announcements may claim a task for a while (a crashed instance
/// never withdraws its own): the later one in the topic wins, since the group gave the
/// task to its newest owner last. Each instance announces itself again every
/// ``refreshInterval``, and one not heard from for ``expiry`` is forgotten, so a crashed
/// instance that claimed nothing does not stay listed.
final class InstanceDirectory: Sendable {
    /// One instance's announcement, as published.
    struct Announcement: Codable, Equatable {
        var endpoint: String
        var tasks: [String]
    }

    /// What an instance last announced, where in the topic, and when it was read.
    struct Entry {
        let host: HostInfo
        let tasks: Set<TaskID>
        let offset: Int64
        let seen: ContinuousClock.Instant
    }

    static func topic(applicationID: String) -> String { "\(applicationID)-instances" }

    /// How often the thread checks the local tasks and reads the others' announcements.
    static let tick: Duration = .milliseconds(100)
    static let refreshInterval: Duration = .seconds(30)
    static let expiry: Duration = .seconds(75)

    let topic: String
    private let instanceID: String
    private let endpoint: HostInfo
    private let configuration: StreamsConfiguration
    /// The tasks this instance runs now; nil once it is not to say anything more.
    private let localTasks: @Sendable () -> Set<TaskID>?
    private let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])
    private let stopRequested = Atomic<Bool>(false)
    private let withdrawing = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    init(
        configuration: StreamsConfiguration, instanceID: String, endpoint: HostInfo, logger: Logger,
        localTasks: @escaping @Sendable () -> Set<TaskID>?
    ) {
        topic = Self.topic(applicationID: configuration.applicationID)
        self.instanceID = instanceID
        self.endpoint = endpoint
        self.configuration = configuration
        self.localTasks = localTasks
        self.logger = logger
    }

    /// Starts publishing and reading on a thread of its own.
    func start() throws {
        let producer = try configuration.clients.factory.makeProducer(
            configuration: configuration.producerConfiguration(clientID: "\(configuration.applicationID)-\(instanceID)-instances-producer"),
            logger: logger)
        var readerConfiguration = configuration.restoreConsumerConfiguration()
        readerConfiguration.clientID = "\(configuration.applicationID)-\(instanceID)-instances-reader"
        let reader: any StreamsConsumer
        do {
            reader = try configuration.clients.factory.makeReader(configuration: readerConfiguration, logger: logger)
            try reader.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: KafkaOffset.beginning)])
        } catch {
            producer.close(timeout: .zero)
            throw error
        }
        let box = ClientsBox(producer: producer, reader: reader)
        startThread(named: "streams:instances") { [self] in
            run(box)
            finished.signal()
        }
    }

    /// Withdraws this instance's announcement (unless not `withdrawing`) and stops the thread.
    func stop(withdrawing: Bool = true) {
        self.withdrawing.store(withdrawing, ordering: .releasing)
        stopRequested.store(true, ordering: .releasing)
        finished.wait()
    }

    /// The owner of each task: the instance that announced it last.
    func owners() -> [TaskID: HostInfo] { newestClaims(liveEntries()).mapValues(\.host) }

    /// Each task's newest claim among `entries`.
    private func newestClaims(_ entries: [Entry]) -> [TaskID: Entry] {
        var newest: [TaskID: Entry] = [:]
        for entry in entries {
            for task in entry.tasks where (newest[task]?.offset ?? -1) < entry.offset { newest[task] = entry }
        }
        return newest
    }

    /// The entries of the instances heard from within ``expiry``.
    private func liveEntries() -> [Entry] {
        let now = ContinuousClock.now
        return entries.withLock { $0.values.filter { now - $0.seen < Self.expiry } }
    }

    /// Every instance with the tasks it owns. An instance whose every claim a newer
    /// announcement took over is left out: it stopped without withdrawing (a crash), or
    /// has not announced its new tasks yet.
    func instances() -> [(host: HostInfo, tasks: Set<TaskID>)] {
        let live = liveEntries()
        let newest = newestClaims(live)
        return live.compactMap { entry in
            // By announcement, not by host: a restarted instance may reuse its endpoint.
            let owned = entry.tasks.filter { newest[$0]?.offset == entry.offset }
            guard !owned.isEmpty || entry.tasks.isEmpty else { return nil }
            return (entry.host, owned)
        }.sorted { $0.host.description < $1.host.description }
    }

    private func run(_ clients: ClientsBox) {
        var published: (tasks: Set<TaskID>, at: ContinuousClock.Instant)?
        while !stopRequested.load(ordering: .acquiring) {
            if let tasks = localTasks(), tasks != published?.tasks || ContinuousClock.now - published!.at >= Self.refreshInterval {
                do {
                    try announce(tasks, clients.producer)
                    published = (tasks, .now)
                } catch {
                    logger.warning("cannot announce this instance's tasks on \(topic), retrying: \(error)")
                }
            }
            let started = ContinuousClock.now
            var received = 0
            do {
                received = try read(clients.reader)
            } catch {
                logger.warning("cannot read the instances' announcements from \(topic), retrying: \(error)")
            }
            // A poll that returned at once with nothing (an error, or a client that does
            // not wait) must not turn this loop into a spin.
            let waited = ContinuousClock.now - started
            if received == 0, waited < Self.tick { Thread.sleep(forTimeInterval: (Self.tick - waited).fractionalSeconds) }
        }
        // Withdrawn, so no query is sent here once this instance is gone.
        if withdrawing.load(ordering: .acquiring) {
            do {
                try send(value: nil, clients.producer)
                try clients.producer.flush(timeout: configuration.flushTimeout)
            } catch {
                logger.warning("cannot withdraw this instance's announcement from \(topic): \(error)")
            }
        }
        clients.producer.close(timeout: .zero)
        try? clients.reader.close()
    }

    private func announce(_ tasks: Set<TaskID>, _ producer: any StreamsProducer) throws {
        let announcement = Announcement(endpoint: endpoint.description, tasks: tasks.sorted().map(\.description))
        try send(value: Array(try JSONEncoder().encode(announcement)), producer)
        logger.debug("announced this instance's tasks", metadata: ["endpoint": "\(endpoint)", "tasks": "\(announcement.tasks)"])
    }

    private func send(value: [UInt8]?, _ producer: any StreamsProducer) throws {
        try withBytes(of: Array(instanceID.utf8)) { key in
            try withBytes(of: value) { value in
                try producer.send(
                    topic: topic, partition: 0, key: key, value: value, headers: [],
                    timestamp: configuration.clients.factory.currentTimeMilliseconds(), onDelivery: nil)
            }
        }
    }

    /// Applies the announcements read in one poll; returns how many records it read.
    private func read(_ reader: any StreamsConsumer) throws -> Int {
        try reader.poll(maxRecords: 500, timeout: Self.tick) { record in
            guard let key = record.key.map({ String(decoding: $0, as: UTF8.self) }) else { return }
            guard let value = record.value else {
                entries.withLock { _ = $0.removeValue(forKey: key) }
                return
            }
            guard let announcement = try? JSONDecoder().decode(Announcement.self, from: Data(value)),
                let host = HostInfo(parsing: announcement.endpoint)
            else {
                logger.warning("skipping an unreadable announcement on \(topic)", metadata: ["offset": "\(record.offset)", "instance": "\(key)"])
                return
            }
            let tasks = Set(announcement.tasks.compactMap(TaskID.init(parsing:)))
            entries.withLock { $0[key] = Entry(host: host, tasks: tasks, offset: record.offset, seen: .now) }
        }
    }
}

/// The directory thread's clients, handed to it once.
private final class ClientsBox: @unchecked Sendable {
    let producer: any StreamsProducer
    let reader: any StreamsConsumer

    init(producer: any StreamsProducer, reader: any StreamsConsumer) {
        self.producer = producer
        self.reader = reader
    }
}

extension TaskID {
    /// Parses `s_p`, as ``description`` prints it.
    init?(parsing text: String) {
        let parts = text.split(separator: "_")
        guard parts.count == 2, let subtopology = Int(parts[0]), let partition = Int32(parts[1]) else { return nil }
        self.init(subtopology: subtopology, partition: partition)
    }
}
