import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka
import SampleSupport
import ServiceLifecycle

/// The joins sample: card payments checked against each card's profile (stream–table join)
/// and against the card's other payments within ten minutes (stream–stream self-join);
/// prints each alert with why. Runs against the embedded broker unless
/// `--bootstrap-servers` is given.
@main
struct FraudAlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fraud-alerts", abstract: "Kafka Streams joins: card payments against card profiles and against each other.")

    @Option(help: "Kafka to use (host:port,...); absent: start the embedded mock broker.")
    var bootstrapServers: String?

    @Option(help: "The application id (consumer group and internal topic prefix).")
    var applicationID: String = "fraud-alerts"

    @Option(help: "Where tasks keep local state.")
    var stateDir: String = FileManager.default.temporaryDirectory.appendingPathComponent("kafka-streams").path

    typealias Topology = FraudAlertsTopology

    func run() async throws {
        var logger = Logger(label: "fraud-alerts") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        print(try Topology.build().describe())
        let kafka = try Broker(bootstrapServers: bootstrapServers, logger: logger)
        print("Kafka at \(kafka.bootstrapServers)\(kafka.embedded == nil ? "" : " (embedded mock broker)")")
        if kafka.embedded != nil { try? FileManager.default.removeItem(atPath: "\(stateDir)/\(applicationID)") }
        // The profiles and payments are joined partition by partition: as many of each.
        try await kafka.createTopics([Topology.profiles, Topology.transactions, Topology.alerts], partitions: 3)
        let reader = try await OutputReader.start(bootstrapServers: kafka.bootstrapServers, topics: [Topology.alerts], logger: logger)

        // Half an hour that started an hour ago; the profiles were there before it.
        let start = (Int64(Date().timeIntervalSince1970 * 1000) / 60_000 - 60) * 60_000
        let encoder = JSONEncoder()
        func json(_ value: some Encodable) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        try await kafka.produce(Topology.profiles, Topology.sampleProfiles.map { (key: $0.card, value: try json($0.profile), timestamp: start - 60_000) })
        let payments = Topology.sampleTransactions(start: start)
        try await kafka.produce(Topology.transactions, payments.map { (key: $0.card, value: try json($0.payment), timestamp: $0.payment.at) })
        print("\n\(Topology.sampleProfiles.count) card profiles to \(Topology.profiles), \(payments.count) payments to \(Topology.transactions).")

        var configuration = kafka.streamsConfiguration(applicationID: applicationID)
        configuration.stateDirectory = stateDir
        let app = try StreamsApp(topology: try Topology.build(), configuration: configuration, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        async let running: Void = group.run()
        let expected = Topology.expectedAlerts(payments)
        let records = try await reader.read(count: expected.count, timeout: .seconds(60))
        await group.triggerGracefulShutdown()
        try await running

        let decoder = JSONDecoder()
        let alerts = try records.map { (card: String(decoding: $0.key ?? [], as: UTF8.self), alert: try decoder.decode(Topology.Alert.self, from: Data($0.value ?? []))) }
        let byID = Dictionary(uniqueKeysWithValues: payments.map { ($0.payment.id, $0.payment) })
        print("\nAlerts (\(alerts.count)), in the order the payments happened:")
        for (card, alert) in alerts.sorted(by: { (byID[$0.alert.transaction]?.at ?? 0) < (byID[$1.alert.transaction]?.at ?? 0) }) {
            let minute = ((byID[alert.transaction]?.at ?? start) - start) / 60_000
            print("  \(card) \(alert.transaction) at +\(minute) min: \(alert.reason)")
        }
        guard Set(alerts.map(\.alert.reason)) == Set(expected.map(\.reason)) else {
            throw ValidationError("the alerts differ from the rules' direct computation: \(expected.map(\.reason))")
        }
    }
}
