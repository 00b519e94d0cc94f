import RdKafka
import Synchronization
import Testing

@Suite struct ProduceConsumeTests {
    @Test func roundTripKeepsHeadersTimestampsNullKeysAndTombstones() async throws {
        let cluster = try makeCluster(topics: ["round-trip": 1])
        let producer = try Producer(configuration: producerConfiguration(cluster), logger: testLogger)
        let sent = [
            ProducerRecord(
                topic: "round-trip", key: bytes("k1"), value: bytes("v1"),
                headers: [KafkaHeader(key: "trace", string: "abc"), KafkaHeader(key: "empty", value: []),
                          KafkaHeader(key: "null", value: nil)],
                timestamp: 1_600_000_000_123),
            ProducerRecord(topic: "round-trip", key: nil, value: bytes("no key"), timestamp: 1_600_000_000_456),
            ProducerRecord(topic: "round-trip", key: bytes("deleted"), value: nil, timestamp: 1_600_000_000_789),
            ProducerRecord(topic: "round-trip", key: [], value: [], timestamp: 1_600_000_001_000),
        ]
        var offsets: [Int64] = []
        for record in sent {
            let metadata = try await producer.send(record)
            #expect(metadata.topic == "round-trip")
            #expect(metadata.partition == 0)
            offsets.append(metadata.offset)
        }
        #expect(offsets == [0, 1, 2, 3])

        let consumer = try Consumer(configuration: consumerConfiguration(cluster), logger: testLogger)
        try consumer.assign([TopicPartitionOffset(topic: "round-trip", partition: 0, offset: KafkaOffset.beginning)])
        let received = try await pollRecords(consumer, count: sent.count)
        try #require(received.count == sent.count)
        for (record, original) in zip(received, sent) {
            #expect(record.topic == "round-trip")
            #expect(record.key == original.key)
            #expect(record.value == original.value)
            #expect(record.headers == original.headers)
            #expect(record.timestamp == original.timestamp)
            #expect(record.timestampType == .createTime)
        }
        #expect(received.map(\.offset) == offsets)
        #expect(received[1].key == nil)
        #expect(received[2].value == nil)
        #expect(received[3].value == [])
        try consumer.close()
        producer.close()
    }

    @Test func borrowedRecordsForwardWithoutCopiesAndKeepNullVersusEmpty() async throws {
        let cluster = try makeCluster(topics: ["borrowed-in": 1, "borrowed-out": 1])
        let producer = try Producer(configuration: producerConfiguration(cluster), logger: testLogger)
        let originals = [
            ProducerRecord(topic: "borrowed-in", key: bytes("k"), value: bytes("v"), headers: [KafkaHeader(key: "h", string: "1")]),
            ProducerRecord(topic: "borrowed-in", key: nil, value: nil),
            ProducerRecord(topic: "borrowed-in", key: [], value: []),
        ]
        for record in originals { _ = try await producer.send(record) }

        let consumer = try Consumer(configuration: consumerConfiguration(cluster), logger: testLogger)
        try consumer.assign([TopicPartitionOffset(topic: "borrowed-in", partition: 0, offset: KafkaOffset.beginning)])
        var forwarded = 0
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while forwarded < originals.count && ContinuousClock.now < deadline {
            forwarded += try consumer.poll(maxRecords: 10, timeout: .milliseconds(100)) { message in
                #expect(message.topic == "borrowed-in")
                try producer.produce(
                    topic: "borrowed-out", partition: message.partition, key: message.key, value: message.value,
                    headers: message.headers, timestamp: message.timestamp)
            }
        }
        #expect(forwarded == originals.count)
        try await producer.flush(timeout: .seconds(10))

        try consumer.assign([TopicPartitionOffset(topic: "borrowed-out", partition: 0, offset: KafkaOffset.beginning)])
        let copies = try await pollRecords(consumer, count: originals.count)
        #expect(copies.map(\.key) == originals.map(\.key))
        #expect(copies.map(\.value) == originals.map(\.value))
        #expect(copies.map(\.headers) == originals.map(\.headers))
        try consumer.close()
        producer.close()
    }

    /// Records without headers skip librdkafka's header parser (see
    /// `UnsafeConsumerMessage.mayHaveHeaders`): records with and without headers, values
    /// of every small size (including empty, null and one zero byte), batched, plain and
    /// compressed, must all read back with exactly the headers they were written with.
    @Test(arguments: ["none", "gzip", "lz4"])
    func headersSurviveNextToRecordsWithoutThem(compression: String) async throws {
        let topic = "mixed-headers-\(compression)"
        let cluster = try makeCluster(topics: [topic: 1])
        let producer = try Producer(
            configuration: producerConfiguration(cluster, extra: ["compression.type": compression, "linger.ms": "20"]), logger: testLogger)
        var sent: [ProducerRecord] = []
        for index in 0..<300 {
            let value: [UInt8]? = switch index % 5 {
            case 0: nil
            case 1: []
            case 2: [0]
            default: Array(repeating: UInt8(index % 251), count: index % 37)
            }
            let headers: [KafkaHeader] = index % 3 == 0
                ? [KafkaHeader(key: "n", string: String(index)), KafkaHeader(key: "empty", value: []), KafkaHeader(key: "null", value: nil)]
                : []
            sent.append(ProducerRecord(topic: topic, key: bytes("k\(index)"), value: value, headers: headers))
        }
        for record in sent { try producer.produce(record) }
        try await producer.flush(timeout: .seconds(10))

        let consumer = try Consumer(configuration: consumerConfiguration(cluster), logger: testLogger)
        try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: KafkaOffset.beginning)])
        let received = try await pollRecords(consumer, count: sent.count)
        try #require(received.count == sent.count)
        #expect(received.map(\.headers) == sent.map(\.headers))
        #expect(received.map(\.value) == sent.map(\.value))
        try consumer.close()
        producer.close()
    }

    @Test func explicitPartitionAndWatermarks() async throws {
        let cluster = try makeCluster(topics: ["partitioned": 3])
        try await produceNumbered(cluster, topic: "partitioned", count: 5, partition: 2)
        let consumer = try Consumer(configuration: consumerConfiguration(cluster), logger: testLogger)
        let watermarks = try consumer.queryWatermarks(topic: "partitioned", partition: 2, timeout: .seconds(10))
        #expect(watermarks == Watermarks(low: 0, high: 5))
        #expect(try consumer.queryWatermarks(topic: "partitioned", partition: 0, timeout: .seconds(10)).high == 0)

        try consumer.assign([TopicPartitionOffset(topic: "partitioned", partition: 2, offset: 3)])
        let tail = try await pollRecords(consumer, count: 2)
        #expect(tail.map(\.offset) == [3, 4])
        #expect(tail.map { String(decoding: $0.value!, as: UTF8.self) } == ["r-3", "r-4"])
        #expect(try consumer.position([TopicPartition(topic: "partitioned", partition: 2)]).first?.offset == 5)

        try consumer.seek([TopicPartitionOffset(topic: "partitioned", partition: 2, offset: 1)], timeout: .seconds(5))
        let again = try await pollRecords(consumer, count: 1)
        #expect(again.first?.offset == 1)
        try consumer.close()
    }

    @Test func pausedPartitionsDeliverNothingUntilResumed() async throws {
        let cluster = try makeCluster(topics: ["pausing": 1])
        try await produceNumbered(cluster, topic: "pausing", count: 3)
        let consumer = try Consumer(configuration: consumerConfiguration(cluster), logger: testLogger)
        let partition = TopicPartition(topic: "pausing", partition: 0)
        try consumer.assign([TopicPartitionOffset(partition, offset: KafkaOffset.beginning)])
        try consumer.pause([partition])
        let whilePaused = try await pollRecords(consumer, count: 1, timeout: .milliseconds(800))
        #expect(whilePaused.isEmpty)
        try consumer.resume([partition])
        let afterResume = try await pollRecords(consumer, count: 3)
        #expect(afterResume.map(\.offset) == [0, 1, 2])
        try consumer.close()
    }

    @Test func deliveryCallbacksReportEveryRecord() async throws {
        let cluster = try makeCluster(topics: ["callbacks": 2])
        let reports = ReportCollector()
        let producer = try Producer(configuration: producerConfiguration(cluster), logger: testLogger) { result in
            reports.add(result)
        }
        for index in 0..<100 {
            try producer.produce(ProducerRecord(topic: "callbacks", key: bytes("k\(index)"), value: bytes("v\(index)")))
        }
        try await producer.flush(timeout: .seconds(20))
        let results = reports.all
        #expect(results.count == 100)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let offsets = Set(results.compactMap { try? $0.get() }.map { "\($0.partition):\($0.offset)" })
        #expect(offsets.count == 100)
        producer.close()
    }

    @Test func unknownTopicIsAClearError() async throws {
        let cluster = try makeCluster()
        // The mock auto-creates any topic a metadata request names; make the broker
        // answer as a real one without auto-creation does.
        cluster.setTopicError("no-such-topic", .unknownTopicOrPartition)
        let consumer = try Consumer(
            configuration: consumerConfiguration(cluster, group: "unknown-topic-group",
                                                 extra: ["topic.metadata.refresh.interval.ms": "200"]),
            logger: testLogger)
        try consumer.subscribe(["no-such-topic"])
        var thrown: KafkaError?
        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
        while thrown == nil && ContinuousClock.now < deadline {
            do { _ = try await consumer.poll(maxRecords: 10, timeout: .milliseconds(200)) } catch let error as KafkaError {
                thrown = error
            }
        }
        let error = try #require(thrown)
        #expect(error.code == .unknownTopicOrPartition)
        #expect(error.message.contains("no-such-topic"))
        try consumer.close()
    }
}

final class ReportCollector: Sendable {
    private let results = Mutex<[DeliveryResult]>([])
    func add(_ result: DeliveryResult) { results.withLock { $0.append(result) } }
    var all: [DeliveryResult] { results.withLock { $0 } }
}
