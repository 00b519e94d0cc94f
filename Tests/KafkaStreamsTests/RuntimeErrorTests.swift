import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// Poison pills and bad setups on the embedded broker.
@Suite struct RuntimeErrorTests {
    struct Reading: Codable { var sensor: String; var celsius: Double }

    static func topology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("readings", key: .optional(.string), value: .json(Reading.self))
            .mapValues { reading in "\(reading.sensor)=\(reading.celsius)" }
            .to("formatted", value: .string)
        return try builder.build()
    }

    /// What the topology makes of the nine good readings.
    static let formatted = (0..<10).filter { $0 != 4 }.map { "s\($0)=\($0).5" }

    /// Ten records on one partition; offset 4 is not JSON.
    static func producePoisoned(_ kafka: EmbeddedKafkaCluster) async throws {
        try kafka.createTopic("readings", partitions: 1)
        let values = (0..<10).map { index in index == 4 ? "{not json" : #"{"sensor":"s\#(index)","celsius":\#(index).5}"# }
        try await kafka.produceValues("readings", values)
    }

    @Test func failStopsTheAppAndCommitsNothingPastTheBadRecord() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try await Self.producePoisoned(kafka)
        let app = try StreamsApp(
            topology: Self.topology(), configuration: kafka.streamsConfiguration(applicationID: "poison-fail"), logger: streamsTestLogger)
        let error = await #expect(throws: DeserializationError.self) { try await app.run() }
        #expect(error?.source == SourceCoordinates(topic: "readings", partition: 0, offset: 4))
        let committed = try await kafka.committedOffsets(group: "poison-fail", topic: "readings")
        #expect((committed[0] ?? 0) <= 4)
        let outputs = try await kafka.readAll("formatted")
        #expect(outputs.compactMap { text($0.value) }.sorted() == ["s0=0.5", "s1=1.5", "s2=2.5", "s3=3.5"])
    }

    @Test func continueSkipsCountsAndCommitsPastTheBadRecord() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try await Self.producePoisoned(kafka)
        var configuration = kafka.streamsConfiguration(applicationID: "poison-continue")
        configuration.errorHandlers.deserialization = .continue
        let metrics = TestMetrics()
        let running = RunningApp(try StreamsApp(topology: Self.topology(), configuration: configuration, logger: streamsTestLogger))
        let outputs = try await kafka.waitForValues("formatted", including: Self.formatted)
        #expect(try await kafka.waitForCommits(group: "poison-continue", topic: "readings", expected: [0: 10]) == [0: 10])
        try await running.stop().get()
        #expect(Set(outputs.compactMap { text($0.value) }) == Set(Self.formatted))
        #expect(metrics.total("kafka_streams_records_skipped_total", application: "poison-continue") == 1)
        #expect(metrics.total("kafka_streams_records_processed_total", application: "poison-continue") == 9)
        #expect(metrics.total("kafka_streams_records_consumed_total", application: "poison-continue") == 10)
        #expect(metrics.total("kafka_streams_records_produced_total", application: "poison-continue") == 9)
    }

    @Test func deadLetterWritesTheOriginalBytesWithSourceHeaders() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try await Self.producePoisoned(kafka)
        var configuration = kafka.streamsConfiguration(applicationID: "poison-dlq")
        configuration.errorHandlers.deserialization = .deadLetter(topic: "readings-dlq")
        let running = RunningApp(try StreamsApp(topology: Self.topology(), configuration: configuration, logger: streamsTestLogger))
        let letters = try await kafka.waitForValues("readings-dlq", including: ["{not json"])
        _ = try await kafka.waitForValues("formatted", including: Self.formatted)
        try await running.stop().get()
        let letter = try #require(letters.first)
        #expect(Set(letters.compactMap { text($0.value) }) == ["{not json"])
        #expect(text(letter.value) == "{not json")
        #expect(text(letter.key) == "key-4")
        func header(_ name: String) -> String? { text(letter.headers.first { $0.key == name }?.value) }
        #expect(header(DeadLetterHeaders.topic) == "readings")
        #expect(header(DeadLetterHeaders.partition) == "0")
        #expect(header(DeadLetterHeaders.offset) == "4")
        #expect(header(DeadLetterHeaders.exception)?.contains("SerdeError") == true)
        #expect(header(DeadLetterHeaders.message)?.contains("readings[0]@4") == true)
    }

    static func shoutTopology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("words", key: .optional(.string), value: .string).mapValues { $0.uppercased() }.to("shouts")
        return try builder.build()
    }

    @Test func anOutputTheBrokerRefusesGoesToTheDeadLetterTopic() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("words", partitions: 1)
        try kafka.createTopic("shouts", partitions: 1)
        try await kafka.produceValues("words", ["hello"])
        // The app's first produce request is refused for good; later ones go through.
        kafka.cluster.pushRequestErrors(.produce, [.messageSizeTooLarge])
        var configuration = kafka.streamsConfiguration(applicationID: "refused")
        configuration.errorHandlers.production = .deadLetter(topic: "shouts-dlq")
        let running = RunningApp(try StreamsApp(topology: Self.shoutTopology(), configuration: configuration, logger: streamsTestLogger))
        let letters = try await kafka.waitForValues("shouts-dlq", including: ["HELLO"])
        try await kafka.produceValues("words", ["world"])
        let shouts = try await kafka.waitForValues("shouts", including: ["WORLD"])
        #expect(try await kafka.waitForCommits(group: "refused", topic: "words", expected: [0: 2]) == [0: 2])
        try await running.stop().get()
        #expect(Set(shouts.compactMap { text($0.value) }) == ["WORLD"])
        let letter = try #require(letters.first)
        func header(_ name: String) -> String? { text(letter.headers.first { $0.key == name }?.value) }
        #expect(text(letter.value) == "HELLO")
        #expect(header(DeadLetterHeaders.topic) == "words")
        #expect(header(DeadLetterHeaders.offset) == "0")
        #expect(header(DeadLetterHeaders.message)?.contains("shouts") == true)
    }

    @Test func anOutputTheBrokerRefusesStopsTheAppWithoutCommittingItsInput() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("words", partitions: 1)
        try kafka.createTopic("shouts", partitions: 1)
        try await kafka.produceValues("words", ["hello"])
        kafka.cluster.pushRequestErrors(.produce, [.messageSizeTooLarge])
        let app = try StreamsApp(
            topology: Self.shoutTopology(), configuration: kafka.streamsConfiguration(applicationID: "refused-fail"), logger: streamsTestLogger)
        let error = await #expect(throws: ProductionError.self) { try await app.run() }
        #expect(error?.topic == "shouts")
        #expect(try await kafka.committedOffsets(group: "refused-fail", topic: "words").isEmpty)
    }

    @Test func anOutputTooLargeToSendIsSkippedUnderContinue() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("sizes", partitions: 1)
        try await kafka.produceValues("sizes", ["3", "2000000", "5"])
        let builder = StreamsBuilder()
        builder.stream("sizes", key: .optional(.string), value: .string)
            .mapValues { String(repeating: "x", count: Int($0) ?? 0) }
            .to("blobs")
        var configuration = kafka.streamsConfiguration(applicationID: "too-large")
        configuration.errorHandlers.production = .continue
        let running = RunningApp(try StreamsApp(topology: try builder.build(), configuration: configuration, logger: streamsTestLogger))
        #expect(try await kafka.waitForCommits(group: "too-large", topic: "sizes", expected: [0: 3]) == [0: 3])
        let blobs = try await kafka.readAll("blobs")
        try await running.stop().get()
        // The producer refuses more than message.max.bytes (1 MB) before sending.
        #expect(blobs.map { $0.value?.count } == [3, 5])
    }

    @Test func aMissingSourceTopicIsAClearErrorAtStart() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        let app = try StreamsApp(
            topology: Self.topology(), configuration: kafka.streamsConfiguration(applicationID: "missing"), logger: streamsTestLogger)
        let error = await #expect(throws: StreamsError.self) { try await app.run() }
        #expect(error?.kind == .missingSourceTopic)
        #expect(error?.message.contains("readings") == true)
    }

    @Test func coPartitionedInputsWithDifferentCountsAreRefusedAtStart() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("left", partitions: 2)
        try kafka.createTopic("right", partitions: 3)
        let builder = StreamsBuilder()
        let left = builder.stream("left", key: .optional(.string), value: .string)
        left.merge(builder.stream("right", key: .optional(.string), value: .string)).to("both")
        let app = try StreamsApp(
            topology: try builder.build(), configuration: kafka.streamsConfiguration(applicationID: "mismatch"), logger: streamsTestLogger)
        let error = await #expect(throws: StreamsError.self) { try await app.run() }
        #expect(error?.kind == .partitionCountMismatch)
        #expect(error?.message.contains("left: 2") == true && error?.message.contains("right: 3") == true)
    }

    @Test func aConfigurationTypoIsRefusedNamingTheKey() throws {
        var configuration = StreamsConfiguration(applicationID: "typo", bootstrapServers: "localhost:9092")
        configuration.consumerProperties["sesion.timeout.ms"] = "4000"
        let error = #expect(throws: StreamsError.self) {
            _ = try StreamsApp(topology: Self.topology(), configuration: configuration, logger: streamsTestLogger)
        }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("sesion.timeout.ms") == true)
        configuration = StreamsConfiguration(applicationID: "bad id!", bootstrapServers: "localhost:9092")
        #expect(throws: StreamsError.self) { _ = try StreamsApp(topology: Self.topology(), configuration: configuration, logger: streamsTestLogger) }
    }

    @Test func badQueueingSettingsAreRefusedNamingTheSetting() throws {
        for (setting, change) in [
            ("maxTaskIdle", { (configuration: inout StreamsConfiguration) in configuration.maxTaskIdle = .milliseconds(-1) }),
            ("maxBufferedRecordsPerPartition", { (configuration: inout StreamsConfiguration) in configuration.maxBufferedRecordsPerPartition = 0 }),
        ] {
            var configuration = StreamsConfiguration(applicationID: "queues", bootstrapServers: "localhost:9092")
            change(&configuration)
            let error = #expect(throws: StreamsError.self) { try configuration.validate() }
            #expect(error?.kind == .configuration)
            #expect(error?.message.hasPrefix(setting) == true, "\(error?.message ?? "")")
        }
        var never = StreamsConfiguration(applicationID: "queues", bootstrapServers: "localhost:9092")
        never.maxTaskIdle = nil
        try never.validate()
    }
}
