import Hummingbird
import KafkaStreams
import Logging
import Prometheus
import ServiceLifecycle

/// One instance of the service: the stream processing application and the HTTP server
/// that answers queries about its stores, run together in one `ServiceGroup` that shuts
/// both down gracefully on SIGTERM or SIGINT (the HTTP server stops taking requests, the
/// application commits what it processed).
public struct StreamsService: Sendable {
    public let app: StreamsApp
    public let endpoint: HostInfo
    private let group: ServiceGroup

    /// - Parameters:
    ///   - configuration: its ``StreamsConfiguration/applicationServer`` is set to `endpoint`.
    ///   - endpoint: where this instance listens, as the other instances reach it.
    ///   - registry: the Prometheus registry the process's swift-metrics backend writes to.
    public init(configuration: StreamsConfiguration, endpoint: HostInfo, registry: PrometheusCollectorRegistry, logger: Logger) throws {
        var configuration = configuration
        configuration.applicationServer = endpoint.description
        var logger = logger
        logger[metadataKey: "endpoint"] = "\(endpoint)"
        app = try StreamsApp(topology: try ServiceTopology.build(), configuration: configuration, logger: logger)
        let router = Router()
        QueryRoutes(app: app, me: endpoint).add(to: router)
        OperationsRoutes(app: app, me: endpoint, registry: registry).add(to: router)
        let http = Application(
            router: router, configuration: .init(address: .hostname(endpoint.host, port: endpoint.port), serverName: "streams-service"),
            logger: logger)
        // Either one stopping, by itself or on an error, stops the other.
        group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: app, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: http, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        self.endpoint = endpoint
    }

    /// Runs both until SIGTERM or SIGINT, ``shutdown()``, or one of them stopping.
    public func run() async throws { try await group.run() }

    /// Shuts both down gracefully, as SIGTERM does: ``run()`` then returns.
    public func shutdown() async { await group.triggerGracefulShutdown() }
}
