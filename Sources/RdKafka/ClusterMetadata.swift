import CRdKafka

/// Brokers and topics of a cluster.
public struct ClusterMetadata: Sendable, Hashable {
    public var brokers: [Broker]
    public var topics: [Topic]

    public struct Broker: Sendable, Hashable {
        public var id: Int32
        public var host: String
        public var port: Int
    }

    public struct Topic: Sendable, Hashable {
        public var name: String
        public var partitions: [Partition]
        /// Set when the topic could not be described (e.g. it does not exist).
        public var error: KafkaErrorCode?
    }

    public struct Partition: Sendable, Hashable {
        public var id: Int32
        public var leader: Int32
        public var replicas: [Int32]
        public var inSyncReplicas: [Int32]
    }

    /// The topic of that name, if the cluster described it without error.
    public func topic(_ name: String) -> Topic? {
        topics.first { $0.name == name && $0.error == nil }
    }

    static func fetch(handle: OpaquePointer, topics: [String]?, timeout: Duration) throws(KafkaError) -> ClusterMetadata {
        guard let topics else { return try fetchOne(handle: handle, topic: nil, timeout: timeout) }
        var merged = ClusterMetadata(brokers: [], topics: [])
        for topic in topics {
            let one = try fetchOne(handle: handle, topic: topic, timeout: timeout)
            merged.brokers = one.brokers
            merged.topics += one.topics
        }
        return merged
    }

    private static func fetchOne(handle: OpaquePointer, topic: String?, timeout: Duration) throws(KafkaError) -> ClusterMetadata {
        var topicHandle: OpaquePointer?
        if let topic { topicHandle = rd_kafka_topic_new(handle, topic, nil) }
        defer { if let topicHandle { rd_kafka_topic_destroy(topicHandle) } }
        var raw: UnsafePointer<rd_kafka_metadata>?
        try KafkaError.check(
            rd_kafka_metadata(handle, topic == nil ? 1 : 0, topicHandle, &raw, timeout.clampedMilliseconds),
            context: "metadata")
        guard let raw else { return ClusterMetadata(brokers: [], topics: []) }
        defer { rd_kafka_metadata_destroy(raw) }
        let metadata = raw.pointee
        let brokers = (0..<Int(metadata.broker_cnt)).map { index in
            let broker = metadata.brokers[index]
            return Broker(id: broker.id, host: String(cString: broker.host), port: Int(broker.port))
        }
        let topics = (0..<Int(metadata.topic_cnt)).map { index in
            let topic = metadata.topics[index]
            let partitions = (0..<Int(topic.partition_cnt)).map { partitionIndex in
                let partition = topic.partitions[partitionIndex]
                return Partition(
                    id: partition.id,
                    leader: partition.leader,
                    replicas: Array(UnsafeBufferPointer(start: partition.replicas, count: Int(partition.replica_cnt))),
                    inSyncReplicas: Array(UnsafeBufferPointer(start: partition.isrs, count: Int(partition.isr_cnt))))
            }
            return Topic(
                name: String(cString: topic.topic),
                partitions: partitions.sorted { $0.id < $1.id },
                error: topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaErrorCode(topic.err))
        }
        return ClusterMetadata(brokers: brokers, topics: topics)
    }
}
