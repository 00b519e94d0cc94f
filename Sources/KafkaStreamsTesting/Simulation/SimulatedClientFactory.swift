import KafkaStreams
import Logging
import RdKafka

/// The client seam over a simulated cluster, for one instance.
struct SimulatedClientFactory: ClientFactory {
    let instance: SimulatedInstance

    private var cluster: SimulatedCluster { instance.cluster }

    func makeGroupConsumer(
        configuration: KafkaConfiguration, logger: Logger, onRebalance: @escaping (RebalanceEvent) -> Void
    ) throws -> any StreamsConsumer {
        guard let group = configuration.groupID else {
            throw KafkaError(code: .invalidArgument, message: "a group consumer needs group.id", classification: .permanent)
        }
        try cluster.step(instance, .other) { _ in }
        return SimulatedConsumer(instance: instance, group: group, configuration: configuration, onRebalance: onRebalance)
    }

    func makeReader(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsConsumer {
        try cluster.step(instance, .other) { _ in }
        // A reader with the application's group id reads the group's committed offsets (a
        // bounded run's, an input lag's); it never joins.
        return SimulatedConsumer(instance: instance, group: configuration.groupID, configuration: configuration, onRebalance: nil)
    }

    func makeProducer(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsProducer {
        try cluster.step(instance, .other) { _ in }
        return SimulatedProducer(instance: instance, transactionalID: nil, transactionTimeout: 0)
    }

    func makeTransactionalProducer(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsTransactionalProducer {
        guard let transactionalID = configuration.transactionalID else {
            throw KafkaError(code: .invalidArgument, message: "a transactional producer needs transactional.id", classification: .permanent)
        }
        try cluster.step(instance, .other) { _ in }
        let timeout = configuration["transaction.timeout.ms"].flatMap { Int64($0) } ?? 60_000
        return SimulatedProducer(instance: instance, transactionalID: transactionalID, transactionTimeout: timeout)
    }

    func makeAdmin(configuration: KafkaConfiguration, logger: Logger) throws -> any StreamsAdmin {
        try cluster.step(instance, .other) { _ in }
        return SimulatedAdmin(instance: instance)
    }

    func currentTimeMilliseconds() -> Int64 { cluster.currentTimeMilliseconds }

    func crashPoint(_ step: String) throws {
        try cluster.step(instance, .checkpoint) { _ in }
    }
}

final class SimulatedAdmin: StreamsAdmin {
    let instance: SimulatedInstance

    init(instance: SimulatedInstance) { self.instance = instance }

    func partitionCounts(timeout: Duration) throws -> [String: Int] {
        try instance.cluster.step(instance, .other) { $0.topics.mapValues(\.count) }
    }

    func createTopic(_ topic: NewTopic, timeout: Duration) throws {
        try instance.cluster.step(instance, .other) { $0.createTopic(topic.name, partitions: topic.partitions) }
    }

    func close() {}
}
