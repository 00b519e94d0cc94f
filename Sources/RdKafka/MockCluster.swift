import CRdKafka
import Logging
import Synchronization

/// librdkafka's in-process mock Kafka cluster: the embedded broker for tests, samples
/// and benchmarks. It listens on loopback, so other processes can use it too.
///
/// Known limits (librdkafka 2.0.2): transactions are accepted but not honoured
/// (`read_committed` readers see aborted records, offsets sent to a transaction are
/// dropped, no fencing); no CreateTopics/DeleteTopics/DescribeConfigs (use
/// ``createTopic(_:partitions:replicationFactor:)``); no compaction; only about 5 MiB
/// kept per partition.
public final class MockCluster: Sendable {
    private let host: KafkaHandle
    private let cluster: MockClusterPointer
    /// `host:port` list to use as `bootstrap.servers`.
    public let bootstrapServers: String
    /// The broker ids, `1...brokers`.
    public let brokerIDs: [Int32]

    /// Starts `brokers` brokers on loopback.
    public init(brokers: Int = 1, logger: Logger = Logger(label: "mock-cluster")) throws(KafkaError) {
        var configuration = KafkaConfiguration()
        configuration["client.id"] = "mock-cluster-host"
        host = try KafkaHandle(kind: RD_KAFKA_PRODUCER, configuration: configuration, context: ClientContext(logger: logger))
        guard let pointer = rd_kafka_mock_cluster_new(host.pointer, Int32(brokers)) else {
            throw KafkaError(code: .wrapper, message: "cannot start the mock cluster", classification: .permanent)
        }
        cluster = MockClusterPointer(pointer: pointer)
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(pointer))
        brokerIDs = (1...Int32(brokers)).map { $0 }
        MockClusterRegistry.shared.register(self)
    }

    deinit {
        MockClusterRegistry.shared.unregister(bootstrapServers)
        rd_kafka_mock_cluster_destroy(cluster.pointer)
    }

    /// Creates a topic (the mock's replacement for the CreateTopics API).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_topic_create(cluster.pointer, name, Int32(partitions), Int32(replicationFactor)),
            context: "create topic \(name)")
    }

    /// Makes the next requests of `api` fail with these errors, one error per request.
    public func pushRequestErrors(_ api: KafkaAPI, _ errors: [KafkaErrorCode]) {
        var codes = errors.map(\.native)
        rd_kafka_mock_push_request_errors_array(cluster.pointer, api.rawValue, codes.count, &codes)
    }

    /// Forgets errors pushed for `api` that have not been returned yet.
    public func clearRequestErrors(_ api: KafkaAPI) {
        rd_kafka_mock_clear_request_errors(cluster.pointer, api.rawValue)
    }

    /// Makes every request about `topic` fail with `error` (`nil` clears it).
    public func setTopicError(_ topic: String, _ error: KafkaErrorCode?) {
        rd_kafka_mock_topic_set_error(cluster.pointer, topic, error?.native ?? RD_KAFKA_RESP_ERR_NO_ERROR)
    }

    /// Disconnects a broker and refuses connections until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ broker: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_broker_set_down(cluster.pointer, broker), context: "broker \(broker) down")
    }

    /// Lets a broker accept connections again.
    public func setBrokerUp(_ broker: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_broker_set_up(cluster.pointer, broker), context: "broker \(broker) up")
    }

    /// Delays every response of a broker.
    public func setRoundTripTime(_ broker: Int32, _ rtt: Duration) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_broker_set_rtt(cluster.pointer, broker, rtt.clampedMilliseconds), context: "broker \(broker) rtt")
    }

    /// Moves a partition's leadership to another broker.
    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_partition_set_leader(cluster.pointer, topic, partition, broker), context: "set leader")
    }
}

/// Kafka protocol request types, for ``MockCluster/pushRequestErrors(_:_:)``.
public struct KafkaAPI: RawRepresentable, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let produce = KafkaAPI(rawValue: 0)
    public static let fetch = KafkaAPI(rawValue: 1)
    public static let listOffsets = KafkaAPI(rawValue: 2)
    public static let metadata = KafkaAPI(rawValue: 3)
    public static let offsetCommit = KafkaAPI(rawValue: 8)
    public static let offsetFetch = KafkaAPI(rawValue: 9)
    public static let findCoordinator = KafkaAPI(rawValue: 10)
    public static let joinGroup = KafkaAPI(rawValue: 11)
    public static let heartbeat = KafkaAPI(rawValue: 12)
    public static let leaveGroup = KafkaAPI(rawValue: 13)
    public static let syncGroup = KafkaAPI(rawValue: 14)
    public static let initProducerID = KafkaAPI(rawValue: 22)
    public static let addPartitionsToTransaction = KafkaAPI(rawValue: 24)
    public static let addOffsetsToTransaction = KafkaAPI(rawValue: 25)
    public static let endTransaction = KafkaAPI(rawValue: 26)
    public static let transactionOffsetCommit = KafkaAPI(rawValue: 28)
}

private struct MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// The mock clusters alive in this process, by bootstrap address, so that the admin
/// client can serve CreateTopics through the mock's own API and refuse operations the
/// mock does not serve with a clear error instead of a time-out.
final class MockClusterRegistry: Sendable {
    static let shared = MockClusterRegistry()
    private let clusters = Mutex<[String: WeakMockCluster]>([:])

    func register(_ cluster: MockCluster) {
        clusters.withLock { map in for server in Self.split(cluster.bootstrapServers) { map[server] = WeakMockCluster(cluster: cluster) } }
    }

    func unregister(_ bootstrap: String) {
        clusters.withLock { map in for server in Self.split(bootstrap) { map[server] = nil } }
    }

    /// The in-process mock cluster serving all of `bootstrap`, if there is one.
    func cluster(serving bootstrap: [String]) -> MockCluster? {
        guard let first = bootstrap.first else { return nil }
        return clusters.withLock { map in
            guard let cluster = map[first]?.cluster,
                  bootstrap.allSatisfy({ map[$0]?.cluster === cluster }) else { return nil }
            return cluster
        }
    }

    private static func split(_ bootstrap: String) -> [String] {
        bootstrap.split(separator: ",").map { String($0) }
    }
}

private struct WeakMockCluster: @unchecked Sendable {
    weak var cluster: MockCluster?
}
