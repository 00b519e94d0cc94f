import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka
import SampleSupport
import ServiceLifecycle

/// The windowed sample: a flash sale's purchases with the times they were placed, some out
/// of order and a few late. Shows revenue and orders per category per minute as each minute
/// closes (emit-final), the late purchases arriving on their late-record topic with why,
/// and each user's shopping sessions. Runs against the embedded broker unless
/// `--bootstrap-servers` is given.
@main
struct OrdersDashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders-dashboard",
        abstract: "Windowed Kafka Streams aggregations: revenue per category per minute, late purchases, user sessions.")

    @Option(help: "Kafka to use (host:port,...); absent: start the embedded mock broker.")
    var bootstrapServers: String?

    @Option(help: "The application id (consumer group and internal topic prefix).")
    var applicationID: String = "orders-dashboard"

    @Option(help: "Where tasks keep local state.")
    var stateDir: String = FileManager.default.temporaryDirectory.appendingPathComponent("kafka-streams").path

    @Flag(help: "Then replay the orders through version 2 of the per-minute totals (bounded run from offset 0) and show both.")
    var replay = false

    typealias Topology = OrdersDashboardTopology

    func run() async throws {
        var logger = Logger(label: "orders-dashboard") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        print(try Topology.build().describe())
        let kafka = try Broker(bootstrapServers: bootstrapServers, logger: logger)
        print("Kafka at \(kafka.bootstrapServers)\(kafka.embedded == nil ? "" : " (embedded mock broker)")")
        if kafka.embedded != nil { try? FileManager.default.removeItem(atPath: "\(stateDir)/\(applicationID)") }
        let outputs = [Topology.perMinute, Topology.late, Topology.sessions]
        // One input partition: the orders reach the per-category windows, through the
        // repartition by category, in the order they were written. With several, the
        // partitions' records interleave as they are fetched, and a category's stream time
        // may run ahead of orders still on their way: more of them would be late.
        try await kafka.createTopics([Topology.input], partitions: 1)
        try await kafka.createTopics(outputs, partitions: 3)
        let reader = try await OutputReader.start(bootstrapServers: kafka.bootstrapServers, topics: outputs, logger: logger)

        // A sale that started ten minutes ago, at a whole minute.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = (now / 60_000 - 10) * 60_000
        let (orders, late) = Topology.sampleOrders(start: start)
        let encoder = JSONEncoder()
        try await kafka.produce(
            Topology.input, orders.map { (key: $0.user, value: String(decoding: try encoder.encode($0), as: UTF8.self), timestamp: $0.placedAt) })
        print("\n\(orders.count) orders to \(Topology.input), placed over six minutes; the last ones close every window before them.")

        var configuration = kafka.streamsConfiguration(applicationID: applicationID)
        configuration.stateDirectory = stateDir
        let app = try StreamsApp(topology: try Topology.build(), configuration: configuration, logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        async let running: Void = group.run()
        let expected = Self.expectedCounts(orders, late: late, start: start)
        let records = try await reader.read(count: expected, timeout: .seconds(60))
        await group.triggerGracefulShutdown()
        try await running
        try show(records, start: start)
        if replay { try await replayVersion2(kafka: kafka, v1Records: records, orders: orders, late: late, start: start, logger: logger) }
    }

    /// The results to wait for: a row per category and closed minute with on-time orders,
    /// two closed sessions per user, and the late orders.
    static func expectedCounts(_ orders: [Topology.Order], late: [Topology.Order], start: Int64) -> Int {
        let lateTimes = Set(late.map(\.placedAt))
        let closed = orders.filter { !lateTimes.contains($0.placedAt) && $0.placedAt < start + 300_000 }
        return Set(closed.map { "\($0.category)@\($0.placedAt / 60_000)" }).count + 2 * Set(orders.map(\.user)).count + late.count
    }

    private func show(_ records: [ConsumerRecord], start: Int64) throws {
        let decoder = JSONDecoder()
        func clock(_ time: Int64) -> String { OrdersDashboard.clock(time, start) }

        print("\nRevenue per category per minute (each minute once, as it closes; grace 10 s):")
        print("  minute     category  orders  revenue")
        let minuteSerde = TimeWindowedSerde(StringSerde(), windowSize: 60_000)
        let minutes = try records.filter { $0.topic == Topology.perMinute }.map { record in
            (try minuteSerde.deserialize(record.key ?? []), try decoder.decode(Topology.Totals.self, from: Data(record.value ?? [])))
        }
        // Each output partition has its minutes in order; together, sorted by minute.
        for (key, totals) in minutes.sorted(by: { ($0.0.window.start, $0.0.key) < ($1.0.window.start, $1.0.key) }) {
            print("  \(pad("\(clock(key.window.start))-\(clock(key.window.end))", 10)) \(pad(key.key, 9)) \(pad(String(totals.orders), 7)) \(money(totals.revenue))")
        }
        print("\nLate orders, kept on \(Topology.late) with why (a Java or Swift consumer reads the headers):")
        for record in records where record.topic == Topology.late {
            let order = try decoder.decode(Topology.Order.self, from: Data(record.value ?? []))
            func header(_ name: String) -> Int64? {
                record.headers.first { $0.key == name }?.value.flatMap { Int64(String(decoding: $0, as: UTF8.self)) }
            }
            let window = "\(clock(header(LateRecordHeaders.windowStart) ?? 0))-\(clock(header(LateRecordHeaders.windowEnd) ?? 0))"
            print("  \(pad(order.category, 6)) placed \(clock(order.placedAt)), missed \(window) by \((header(LateRecordHeaders.lateness) ?? 0) / 1_000) s (stream time \(clock(header(LateRecordHeaders.streamTime) ?? 0)))")
        }
        print("\nShopping sessions (a new one after 30 s without an order):")
        let sessionSerde = SessionWindowedSerde(StringSerde())
        let sessions = try records.filter { $0.topic == Topology.sessions }.map { record in
            (try sessionSerde.deserialize(record.key ?? []), try decoder.decode(Topology.Totals.self, from: Data(record.value ?? [])))
        }
        for (key, totals) in sessions.sorted(by: { ($0.0.key, $0.0.window.start) < ($1.0.key, $1.0.window.start) }) {
            print("  \(pad(key.key, 8)) \(pad("\(clock(key.window.start))-\(clock(key.window.end))", 10)) \(totals.orders) orders  \(money(totals.revenue))")
        }
    }
}
