import CRdKafka
import Logging

/// Cluster administration: topics, their configuration, and metadata.
///
/// The blocking methods block the calling thread; their `async` twins run on a thread the
/// client owns. Against an in-process ``MockCluster``, ``createTopics(_:ifNotExists:timeout:)``
/// goes through the mock's own topic API (topic configs are not kept), and
/// ``describeTopicConfig(_:timeout:)`` throws a clear error.
public final class Admin: Sendable {
    let handle: KafkaHandle
    private let bootstrapServers: [String]
    private let worker: DedicatedThread
    private let logger: Logger

    public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        handle = try KafkaHandle(kind: RD_KAFKA_PRODUCER, configuration: configuration, context: ClientContext(logger: logger))
        bootstrapServers = configuration.bootstrapServers ?? []
        worker = DedicatedThread(name: clientThreadName(client: handle.name, role: "admin"))
        self.logger = logger
    }

    deinit { worker.stop() }

    /// Creates topics.
    ///
    /// - Parameter ifNotExists: when true, a topic that already exists is not an error
    ///   (its partitions and configs are left as they are).
    public func createTopics(_ topics: [NewTopic], ifNotExists: Bool = false, timeout: Duration) throws(KafkaError) {
        if let mock = MockClusterRegistry.shared.cluster(serving: bootstrapServers) {
            try createTopics(topics, ifNotExists: ifNotExists, on: mock)
            return
        }
        var natives: [OpaquePointer?] = []
        defer { natives.forEach { rd_kafka_NewTopic_destroy($0) } }
        for topic in topics {
            var buffer = [CChar](repeating: 0, count: 512)
            guard let native = rd_kafka_NewTopic_new(topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &buffer, buffer.count) else {
                throw KafkaError(code: .invalidArgument, message: "topic \(topic.name): \(String(cStringBuffer: buffer))", classification: .permanent)
            }
            natives.append(native)
            for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                try KafkaError.check(rd_kafka_NewTopic_set_config(native, key, value), context: "topic \(topic.name) config \(key)")
            }
        }
        try runAdminRequest(RD_KAFKA_ADMIN_OP_CREATETOPICS, operation: "CreateTopics", timeout: timeout) { options, queue in
            rd_kafka_CreateTopics(handle.pointer, &natives, natives.count, options, queue)
        } readResult: { event throws(KafkaError) in
            var count = 0
            guard let result = rd_kafka_event_CreateTopics_result(event),
                  let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
            try Self.checkTopicResults(results, count: count, action: "create") {
                ifNotExists && $0 == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
            }
        }
    }

    /// Deletes topics. A topic that does not exist is not an error.
    ///
    /// librdkafka's mock cluster cannot delete topics: against an in-process one this
    /// throws ``KafkaError/unsupportedByMockCluster(_:hint:)``.
    public func deleteTopics(_ names: [String], timeout: Duration) throws(KafkaError) {
        guard !names.isEmpty else { return }
        try refuseOnMockCluster("DeleteTopics", hint: "the mock cluster cannot delete topics")
        var natives: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
        defer { natives.forEach { rd_kafka_DeleteTopic_destroy($0) } }
        try runAdminRequest(RD_KAFKA_ADMIN_OP_DELETETOPICS, operation: "DeleteTopics", timeout: timeout) { options, queue in
            rd_kafka_DeleteTopics(handle.pointer, &natives, natives.count, options, queue)
        } readResult: { event throws(KafkaError) in
            var count = 0
            guard let result = rd_kafka_event_DeleteTopics_result(event),
                  let results = rd_kafka_DeleteTopics_result_topics(result, &count) else { return }
            try Self.checkTopicResults(results, count: count, action: "delete") { $0 == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART }
        }
    }

    /// Throws the first topic's error in a CreateTopics or DeleteTopics result, unless
    /// `accepted` says it is no error here (a topic that already exists, say).
    private static func checkTopicResults(
        _ results: UnsafeMutablePointer<OpaquePointer?>, count: Int, action: String, accepting accepted: (rd_kafka_resp_err_t) -> Bool
    ) throws(KafkaError) {
        for index in 0..<count {
            let topicResult = results[index]
            let code = rd_kafka_topic_result_error(topicResult)
            if code == RD_KAFKA_RESP_ERR_NO_ERROR || accepted(code) { continue }
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let detail = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
            throw KafkaError(code: code, context: "\(action) topic \(name): \(detail)")
        }
    }

    /// The cluster's id, as its brokers report it (`nil` if none answered in time).
    /// librdkafka's mock clusters have ids that start with `mockCluster`.
    public func clusterID(timeout: Duration) -> String? {
        guard let id = rd_kafka_clusterid(handle.pointer, timeout.clampedMilliseconds) else { return nil }
        defer { rd_kafka_mem_free(handle.pointer, id) }
        return String(cString: id)
    }

    /// Whether the cluster is librdkafka's mock (this process's or another's, such as the
    /// `embedded-kafka` broker): what it cannot do is then known in advance.
    public func isMockCluster(timeout: Duration) -> Bool {
        MockClusterRegistry.shared.cluster(serving: bootstrapServers) != nil || clusterID(timeout: timeout)?.hasPrefix("mockCluster") == true
    }

    /// The configuration of a topic (`cleanup.policy`, `retention.ms`, ...). Sensitive
    /// entries are left out.
    public func describeTopicConfig(_ topic: String, timeout: Duration) throws(KafkaError) -> [String: String] {
        try refuseOnMockCluster("DescribeConfigs", hint: "the mock cluster keeps no topic configuration")
        var resource: OpaquePointer? = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic)
        defer { rd_kafka_ConfigResource_destroy(resource) }
        var configs: [String: String] = [:]
        try runAdminRequest(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, operation: "DescribeConfigs", timeout: timeout) { options, queue in
            rd_kafka_DescribeConfigs(handle.pointer, &resource, 1, options, queue)
        } readResult: { event throws(KafkaError) in
            var count = 0
            guard let result = rd_kafka_event_DescribeConfigs_result(event),
                  let resources = rd_kafka_DescribeConfigs_result_resources(result, &count), count > 0 else { return }
            let described = resources[0]
            let code = rd_kafka_ConfigResource_error(described)
            if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                let detail = rd_kafka_ConfigResource_error_string(described).map { String(cString: $0) } ?? ""
                throw KafkaError(code: code, context: "describe configs of \(topic): \(detail)")
            }
            var entryCount = 0
            guard let entries = rd_kafka_ConfigResource_configs(described, &entryCount) else { return }
            for index in 0..<entryCount {
                let entry = entries[index]
                guard rd_kafka_ConfigEntry_is_sensitive(entry) == 0, let value = rd_kafka_ConfigEntry_value(entry) else { continue }
                configs[String(cString: rd_kafka_ConfigEntry_name(entry))] = String(cString: value)
            }
        }
        return configs
    }

    /// Brokers and topics as the cluster reports them.
    ///
    /// - Parameter topics: the topics to describe; `nil` describes all topics.
    public func metadata(topics: [String]? = nil, timeout: Duration) throws(KafkaError) -> ClusterMetadata {
        try ClusterMetadata.fetch(handle: handle.pointer, topics: topics, timeout: timeout)
    }

    public func createTopics(_ topics: [NewTopic], ifNotExists: Bool = false, timeout: Duration) async throws {
        try await worker.run { try self.createTopics(topics, ifNotExists: ifNotExists, timeout: timeout) }
    }

    public func describeTopicConfig(_ topic: String, timeout: Duration) async throws -> [String: String] {
        try await worker.run { try self.describeTopicConfig(topic, timeout: timeout) }
    }

    public func deleteTopics(_ names: [String], timeout: Duration) async throws {
        try await worker.run { try self.deleteTopics(names, timeout: timeout) }
    }

    public func metadata(topics: [String]? = nil, timeout: Duration) async throws -> ClusterMetadata {
        try await worker.run { try self.metadata(topics: topics, timeout: timeout) }
    }

    /// The mock has no CreateTopics API: topics are created through its in-process one.
    /// It keeps no topic configs, so `configs` are dropped (logged).
    private func createTopics(_ topics: [NewTopic], ifNotExists: Bool, on mock: MockCluster) throws(KafkaError) {
        for topic in topics {
            if !topic.configs.isEmpty {
                logger.debug("the embedded mock cluster keeps no topic configs; ignoring \(topic.configs) of \(topic.name)")
            }
            do {
                try mock.createTopic(topic.name, partitions: topic.partitions, replicationFactor: max(1, topic.replicationFactor))
            } catch where ifNotExists && error.code == .topicAlreadyExists {
                continue
            }
        }
    }

    private func refuseOnMockCluster(_ operation: String, hint: String) throws(KafkaError) {
        if MockClusterRegistry.shared.cluster(serving: bootstrapServers) != nil {
            throw KafkaError.unsupportedByMockCluster(operation, hint: hint)
        }
    }

    /// Sends an admin request, waits for its result event and checks the request-level
    /// error before handing the event to `readResult`.
    private func runAdminRequest(
        _ kind: rd_kafka_admin_op_t,
        operation: String,
        timeout: Duration,
        send: (OpaquePointer?, OpaquePointer?) -> Void,
        readResult: (OpaquePointer) throws(KafkaError) -> Void
    ) throws(KafkaError) {
        let queue = rd_kafka_queue_new(handle.pointer)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle.pointer, kind)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.clampedMilliseconds, &buffer, buffer.count)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout.clampedMilliseconds, &buffer, buffer.count)
        send(options, queue)
        // The request times out by itself; the extra second lets its result event arrive.
        guard let event = rd_kafka_queue_poll(queue, timeout.clampedMilliseconds &+ 1000) else {
            throw timedOut(operation)
        }
        defer { rd_kafka_event_destroy(event) }
        let code = rd_kafka_event_error(event)
        if code == RD_KAFKA_RESP_ERR__TIMED_OUT { throw timedOut(operation) }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            let detail = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            throw KafkaError(code: code, context: "\(operation): \(detail)")
        }
        try readResult(event)
    }

    private func timedOut(_ operation: String) -> KafkaError {
        KafkaError(
            code: .timedOut,
            message: "\(operation) timed out. If the broker is librdkafka's mock cluster (embedded-kafka), it does not "
                + "support \(operation): create topics with `embedded-kafka --topic name:partitions` instead.")
    }
}

/// A topic to create.
public struct NewTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic configs, e.g. `["cleanup.policy": "compact"]`.
    public var configs: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}
