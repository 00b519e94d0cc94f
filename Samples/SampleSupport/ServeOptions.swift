import ArgumentParser
import KafkaStreams
import Logging
import RdKafka
import ServiceLifecycle

/// Options that turn a sample from a demo (send sample input, show the output, stop) into a
/// plain long-running application: what a service would run, and what `streams-chaos kill`
/// starts and kills.
public struct ServeOptions: ParsableArguments {
    @Flag(help: """
        Process until SIGTERM or SIGINT instead of running the demo: send no sample input and show no output. \
        Needs --bootstrap-servers, and the topics must exist there (the embedded-kafka executable creates them with --topic).
        """)
    public var serve = false

    @Option(name: .customLong("consumer-property"), help: "A librdkafka consumer property as key=value, e.g. session.timeout.ms=6000 (repeatable).")
    public var consumerProperties: [String] = []

    @Flag(help: "Process exactly-once (Kafka transactions; needs a broker that honours them, not the embedded one).")
    public var exactlyOnce = false

    public init() {}

    public func validate() throws {
        _ = try parsedConsumerProperties()
    }

    /// Adds the `--consumer-property` settings and the `--exactly-once` guarantee to
    /// `configuration`.
    public func apply(to configuration: inout StreamsConfiguration) throws {
        configuration.consumerProperties = configuration.consumerProperties.merging(try parsedConsumerProperties())
        if exactlyOnce { configuration.processingGuarantee = .exactlyOnce }
    }

    private func parsedConsumerProperties() throws -> [String: String] {
        var properties: [String: String] = [:]
        for item in consumerProperties {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("--consumer-property \"\(item)\" is not key=value")
            }
            properties[String(parts[0])] = String(parts[1])
        }
        return properties
    }

    /// Runs `app` until SIGTERM or SIGINT, then returns after its final commit.
    public func runUntilSignalled(_ app: StreamsApp, logger: Logger) async throws {
        logger.notice("serving until SIGTERM or SIGINT", metadata: ["guarantee": "\(exactlyOnce ? "exactly-once" : "at-least-once")"])
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
