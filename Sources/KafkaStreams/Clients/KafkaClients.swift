/// The Kafka clients an application runs on: librdkafka's (``librdkafka``, the default),
/// or those of a simulated cluster (`SimulatedCluster.clients` in `KafkaStreamsTesting`),
/// which keeps Kafka's transactional guarantees in memory and can crash the application
/// at any step.
public struct KafkaClients: Sendable {
    package let factory: any ClientFactory

    package init(_ factory: any ClientFactory) { self.factory = factory }

    /// librdkafka's producer, consumer and admin clients, talking to real brokers (or
    /// the embedded mock cluster).
    public static var librdkafka: KafkaClients { KafkaClients(RdKafkaClientFactory()) }
}

/// Thrown by a client whose process is considered dead (a simulated crash): the runtime
/// then stops at once, without a final commit or any other cleanup a dead process could
/// not do.
package protocol ProcessCrash: Error {}

