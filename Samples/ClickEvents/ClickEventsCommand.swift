import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka
import SampleSupport
import ServiceLifecycle

/// The stateless sample: click events are parsed, bots dropped, clicks enriched and split
/// by kind into `page-views` and `button-clicks`; a record that is not JSON goes to
/// `clicks-dlq`. Runs against the embedded broker unless `--bootstrap-servers` is given.
@main
struct ClickEventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "click-events",
        abstract: "A stateless Kafka Streams topology: parse, filter, enrich and split click events.")

    @Option(help: "Kafka to use (host:port,...); absent: start the embedded mock broker.")
    var bootstrapServers: String?

    @Option(help: "The application id (consumer group and internal topic prefix).")
    var applicationID: String = "click-events"

    @Option(help: "Where tasks keep local state.")
    var stateDir: String = FileManager.default.temporaryDirectory.appendingPathComponent("kafka-streams").path

    @Option(help: "How many clicks to send.")
    var clicks: Int = 30

    @OptionGroup var serveOptions: ServeOptions

    func validate() throws {
        if serveOptions.serve && bootstrapServers == nil { throw ValidationError("--serve needs --bootstrap-servers") }
    }

    func run() async throws {
        var logger = Logger(label: "click-events") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .notice
        let topology = try ClickTopology.build()
        print(topology.describe())

        let kafka = try Broker(bootstrapServers: bootstrapServers, logger: logger)
        if serveOptions.serve {
            try await serveOptions.runUntilSignalled(try makeApp(topology, kafka: kafka, logger: logger), logger: logger)
            return
        }
        print("Kafka at \(kafka.bootstrapServers)\(kafka.embedded == nil ? "" : " (embedded mock broker)")")
        let topics = [ClickTopology.input, ClickTopology.pageViews, ClickTopology.buttonClicks, ClickTopology.deadLetters]
        try await kafka.createTopics(topics, partitions: 3)
        let reader = try await OutputReader.start(bootstrapServers: kafka.bootstrapServers, topics: Array(topics.dropFirst()), logger: logger)

        let input = ClickTopology.sampleClicks(count: clicks)
        try await kafka.produce(ClickTopology.input, input)
        print("\nInput (\(input.count) records to \(ClickTopology.input)):")
        for (key, value) in input.prefix(6) { print("  \(key)  \(value)") }
        print("  ...")

        let app = try makeApp(topology, kafka: kafka, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)

        // Every click either lands in one output topic, is a bot (dropped) or is not JSON.
        let humans = input.filter { !$0.value.contains("bot") }.count
        async let outputs = reader.read(count: humans, timeout: .seconds(60))
        async let running: Void = group.run()
        let records = try await outputs
        await group.triggerGracefulShutdown()
        try await running

        print("\nOutput (\(records.count) records):")
        for topic in topics.dropFirst() {
            let inTopic = records.filter { $0.topic == topic }
            print("  \(topic): \(inTopic.count)")
            for record in inTopic.prefix(3) {
                let headers = record.headers.isEmpty ? "" : "  headers: " + record.headers.map { "\($0.key)=\(String(decoding: $0.value ?? [], as: UTF8.self))" }.joined(separator: ", ")
                print("    \(String(decoding: record.key ?? [], as: UTF8.self))  \(String(decoding: record.value ?? [], as: UTF8.self))\(headers)")
            }
        }
        let bots = input.count - humans
        print("\nDropped \(bots) bot clicks; \(records.filter { $0.topic == ClickTopology.deadLetters }.count) unreadable record(s) went to \(ClickTopology.deadLetters).")
    }

    private func makeApp(_ topology: Topology, kafka: Broker, logger: Logger) throws -> StreamsApp {
        var configuration = kafka.streamsConfiguration(applicationID: applicationID)
        configuration.stateDirectory = stateDir
        configuration.errorHandlers.deserialization = .deadLetter(topic: ClickTopology.deadLetters)
        try serveOptions.apply(to: &configuration)
        return try StreamsApp(topology: topology, configuration: configuration, logger: logger)
    }
}
