import RdKafka
import Testing

@Suite struct AdminTests {
    private func admin(_ cluster: MockCluster) throws -> Admin {
        var configuration = KafkaConfiguration()
        configuration.bootstrapServers = [cluster.bootstrapServers]
        return try Admin(configuration: configuration, logger: testLogger)
    }

    @Test func createTopicsOnTheMockGoesThroughTheMockAPI() async throws {
        let cluster = try makeCluster()
        let admin = try admin(cluster)
        try await admin.createTopics([NewTopic(name: "created", partitions: 3, configs: ["cleanup.policy": "compact"])], timeout: .seconds(5))
        let topic = try #require(try await admin.metadata(timeout: .seconds(5)).topic("created"))
        #expect(topic.partitions.count == 3)
        let again = await #expect(throws: KafkaError.self) {
            try await admin.createTopics([NewTopic(name: "created", partitions: 3)], timeout: .seconds(5))
        }
        #expect(again?.code == .topicAlreadyExists)
        try await admin.createTopics([NewTopic(name: "created", partitions: 3)], ifNotExists: true, timeout: .seconds(5))
        let describe = await #expect(throws: KafkaError.self) { _ = try await admin.describeTopicConfig("created", timeout: .seconds(5)) }
        #expect(describe?.code == .notImplemented)
    }

    @Test func metadataShowsBrokersAndTopicsCreatedThroughTheMock() async throws {
        let cluster = try makeCluster(brokers: 3)
        try cluster.createTopic("described", partitions: 6, replicationFactor: 3)
        let metadata = try await admin(cluster).metadata(topics: ["described"], timeout: .seconds(10))
        #expect(metadata.brokers.map(\.id).sorted() == [1, 2, 3])
        let topic = try #require(metadata.topic("described"))
        #expect(topic.partitions.map(\.id) == Array(0..<6))
        #expect(topic.partitions.allSatisfy { $0.replicas.count == 3 && cluster.brokerIDs.contains($0.leader) })
    }

    @Test func partitionLeaderCanMove() async throws {
        let cluster = try makeCluster(brokers: 2)
        try cluster.createTopic("moving", partitions: 1, replicationFactor: 2)
        try cluster.setPartitionLeader(topic: "moving", partition: 0, broker: 2)
        let admin = try admin(cluster)
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        var leader: Int32 = -1
        while leader != 2 && ContinuousClock.now < deadline {
            leader = try await admin.metadata(topics: ["moving"], timeout: .seconds(5)).topic("moving")?.partitions.first?.leader ?? -1
            if leader != 2 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(leader == 2)
    }
}
