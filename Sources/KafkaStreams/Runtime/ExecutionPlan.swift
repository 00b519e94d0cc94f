import Logging
import RdKafka

/// A topology bound to an application id and checked against the cluster: every source
/// topic exists, co-partitioned topics agree on their partition count, and repartition
/// topics exist with the right count.
struct ExecutionPlan: Sendable {
    let topology: Topology
    let subtopologies: [Subtopology]
    /// Every topic a stream thread subscribes to (internal ones by their full name).
    let sourceTopics: [String]
    let subtopologyReading: [String: Subtopology]

    init(topology: Topology, applicationID: String) {
        self.topology = topology
        subtopologies = topology.subtopologies()
        var reading: [String: Subtopology] = [:]
        for subtopology in subtopologies {
            for topic in subtopology.sourceTopics { reading[topic.resolved(applicationID: applicationID)] = subtopology }
        }
        subtopologyReading = reading
        sourceTopics = reading.keys.sorted()
    }

    static func makeAdmin(configuration: StreamsConfiguration, logger: Logger) throws -> any StreamsAdmin {
        var adminConfiguration = configuration.commonProperties
        adminConfiguration["bootstrap.servers"] = configuration.bootstrapServers
        adminConfiguration.clientID = "\(configuration.applicationID)-admin"
        return try configuration.clients.factory.makeAdmin(configuration: adminConfiguration, logger: logger)
    }

    /// Every partition the stream threads read, given each topic's partition count: those
    /// of the input topics, and those of the repartition topics the application writes
    /// itself.
    func sourcePartitions(counts: [String: Int], applicationID: String) -> (external: [TopicPartition], repartition: [TopicPartition]) {
        var external: [TopicPartition] = []
        var repartition: [TopicPartition] = []
        for subtopology in subtopologies {
            for topic in subtopology.sourceTopics {
                let name = topic.resolved(applicationID: applicationID)
                let partitions = (0..<Int32(counts[name] ?? 0)).map { TopicPartition(topic: name, partition: $0) }
                if topic.isInternal { repartition += partitions } else { external += partitions }
            }
        }
        return (external, repartition)
    }

    /// Each task-local store's sub-topology and its number of tasks.
    func storeTasks(partitionCounts: [String: Int], applicationID: String) -> [String: (subtopology: Int, partitions: Int)] {
        var layout: [String: (subtopology: Int, partitions: Int)] = [:]
        for subtopology in subtopologies {
            let partitions = subtopology.sourceTopics.compactMap { partitionCounts[$0.resolved(applicationID: applicationID)] }.max() ?? 0
            for store in subtopology.storeNames where topology.stores[store] != nil {
                layout[store] = (subtopology.id, partitions)
            }
        }
        return layout
    }

    /// Whether any store, global ones included, lives in RocksDB.
    /// How many tasks the application has: one per input partition of each sub-topology.
    func taskCount(partitionCounts: [String: Int], applicationID: String) -> Int {
        subtopologies.reduce(0) { total, subtopology in
            total + (subtopology.sourceTopics.compactMap { partitionCounts[$0.resolved(applicationID: applicationID)] }.max() ?? 0)
        }
    }

    var hasPersistentStores: Bool {
        topology.stores.values.contains(where: \.persistent) || topology.globalStores.values.contains(where: \.store.persistent)
    }

    /// Checks source topics and creates missing repartition and changelog topics; returns
    /// the partition count of every topic. Blocking: call it on a thread of the runtime's own.
    @discardableResult
    func prepareTopics(configuration: StreamsConfiguration, logger: Logger) throws -> [String: Int] {
        let applicationID = configuration.applicationID
        let admin = try Self.makeAdmin(configuration: configuration, logger: logger)
        defer { admin.close() }
        var partitions = try admin.partitionCounts(timeout: .seconds(30))

        var created: [NewTopic] = []
        /// Creates an internal topic unless it exists, which it then must with `wanted` partitions.
        func ensure(_ kind: String, _ name: String, partitions wanted: Int, configs: [String: String] = [:]) throws {
            if let existing = partitions[name] {
                guard existing == wanted else {
                    throw StreamsError(.partitionCountMismatch, "\(kind) topic \(name) has \(existing) partitions, the topology needs \(wanted)")
                }
                return
            }
            let newTopic = NewTopic(name: name, partitions: wanted, replicationFactor: configuration.internalTopicReplicationFactor, configs: configs)
            try admin.createTopic(newTopic, timeout: .seconds(30))
            created.append(newTopic)
            partitions[name] = wanted
        }
        for subtopology in subtopologies {
            for topic in subtopology.sourceTopics where !topic.isInternal {
                guard partitions[topic.description] != nil else {
                    throw StreamsError(.missingSourceTopic, "source topic \(topic) does not exist; create it before starting \(applicationID)")
                }
            }
        }
        for global in topology.globalStores.values where partitions[global.topic] == nil {
            throw StreamsError(.missingSourceTopic, "the topic \(global.topic) of global store \(global.store.name) does not exist; create it before starting \(applicationID)")
        }
        let internalCounts = internalTopicPartitions(existing: partitions)
        for subtopology in subtopologies {
            for topic in subtopology.sinkTopics where topic.isInternal {
                try ensure("repartition", topic.resolved(applicationID: applicationID), partitions: internalCounts[topic] ?? 1)
            }
        }
        for subtopology in subtopologies {
            let inputCount = subtopology.sourceTopics.compactMap { partitions[$0.resolved(applicationID: applicationID)] }.max()
            // A store's changelog has one partition per task of the sub-topology.
            for store in subtopology.storeNames.compactMap({ topology.stores[$0] }) {
                guard let changelog = store.changelog, changelog.isInternal else { continue }
                try ensure(
                    "changelog", changelog.resolved(applicationID: applicationID), partitions: inputCount ?? 1,
                    configs: store.changelogConfig.merging(["cleanup.policy": "compact"]) { own, _ in own })
            }
        }
        if configuration.applicationServer != nil {
            // One partition, so every announcement has its place in one order.
            try ensure("instances", InstanceDirectory.topic(applicationID: applicationID), partitions: 1, configs: ["cleanup.policy": "compact"])
        }
        if !created.isEmpty {
            logger.info("created internal topics", metadata: ["topics": "\(created.map { "\($0.name):\($0.partitions)" })"])
        }
        try checkCoPartitioning(partitions: partitions, applicationID: applicationID)
        return partitions
    }

    /// The topics of one sub-topology are read together, partition by partition, so they
    /// must have as many partitions each.
    private func checkCoPartitioning(partitions: [String: Int], applicationID: String) throws {
        for subtopology in subtopologies {
            let counts = subtopology.sourceTopics.map { ($0.resolved(applicationID: applicationID), partitions[$0.resolved(applicationID: applicationID)] ?? 0) }
            guard Set(counts.map(\.1)).count <= 1 else {
                let listing = counts.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
                throw StreamsError(
                    .partitionCountMismatch,
                    "the input topics of sub-topology \(subtopology.id) must have the same number of partitions to be co-partitioned (\(listing))")
            }
        }
    }
}
