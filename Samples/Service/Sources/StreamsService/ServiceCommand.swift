import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import Metrics
import Prometheus
import ServiceCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@main
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams-service",
        abstract: "Word counts and orders per minute, served over HTTP from the stores of a stream processing application.",
        subcommands: [Serve.self, Demo.self], defaultSubcommand: Demo.self)
}

/// The process's metrics, in Prometheus text at `/metrics`: swift-metrics' backend for the
/// whole process, the library's metrics included.
let metricsRegistry: PrometheusCollectorRegistry = {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}()

func makeLogger() -> Logger {
    var logger = Logger(label: "streams-service")
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}

/// One instance against a Kafka cluster, until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one instance against a Kafka cluster.")

    @Option(help: "Kafka's bootstrap servers.") var bootstrapServers = "localhost:9092"
    @Option(help: "Where this instance listens, as the other instances reach it (host:port).") var endpoint = "127.0.0.1:8080"
    @Option(help: "The application id every instance shares.") var applicationID = "streams-service"
    @Option(help: "Where this instance keeps its stores.") var stateDirectory = "/tmp/streams-service"

    func run() async throws {
        guard let host = HostInfo(parsing: endpoint) else { throw ValidationError("--endpoint must be host:port, got \(endpoint)") }
        var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: bootstrapServers)
        configuration.stateDirectory = stateDirectory
        let service = try StreamsService(configuration: configuration, endpoint: host, registry: metricsRegistry, logger: makeLogger())
        try await service.run()
    }
}
