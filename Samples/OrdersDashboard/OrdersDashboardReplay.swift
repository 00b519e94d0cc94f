import Foundation
import KafkaStreams
import Logging
import RdKafka
import SampleSupport

/// The Kappa walk-through (`--replay`): version 2 of the per-minute totals, with changed
/// logic, replays the orders from offset 0 in a bounded run into its own topic, closing
/// its windows at the end; its lag goes to zero; both versions are shown side by side.
extension OrdersDashboardCommand {
    func replayVersion2(kafka: Broker, v1Records: [ConsumerRecord], orders: [Topology.Order], late: [Topology.Order], start: Int64, logger: Logger)
        async throws
    {
        let applicationID = "\(self.applicationID)-v2"
        if kafka.embedded != nil { try? FileManager.default.removeItem(atPath: "\(stateDir)/\(applicationID)") }
        try await kafka.createTopics([Topology.perMinuteV2], partitions: 3)
        let reader = try await OutputReader.start(bootstrapServers: kafka.bootstrapServers, topics: [Topology.perMinuteV2], logger: logger)
        var configuration = kafka.streamsConfiguration(applicationID: applicationID)
        configuration.stateDirectory = stateDir
        // Everything in the topic now; then every window closes, the last minute included.
        configuration.boundedRun = BoundedRun(progressInterval: .seconds(5), closesWindowsAtEnd: true)
        let app = try StreamsApp(topology: try Topology.buildV2(), configuration: configuration, logger: logger)
        let lagBefore = try await app.inputLag()
        print("\nVersion 2 counts big orders (\(money(Topology.bigOrder)) or more) too. It replays \(Topology.input) from offset 0")
        print("as application \(applicationID), into \(Topology.perMinuteV2), in a bounded run: lag \(lagBefore.total) orders.")
        let clock = ContinuousClock()
        let started = clock.now
        try await app.run()
        let lagAfter = try await app.inputLag()
        print("The run returned by itself after \(String(format: "%.1f", (clock.now - started).fractionalSecondsForSample)) s: lag \(lagAfter.total), every window closed.")

        let lateTimes = Set(late.map(\.placedAt))
        let expected = Set(orders.filter { !lateTimes.contains($0.placedAt) }.map { "\($0.category)@\($0.placedAt / 60_000)" }).count
        let v2Records = try await reader.read(count: expected, timeout: .seconds(60))
        try showSideBySide(v1: v1Records, v2: v2Records, start: start)
        print("\nCut over: readers move to \(Topology.perMinuteV2); version 2 goes on live (same application id, from its")
        print("committed offsets); version 1 stops. Its last minute, still open in version 1, is in version 2 already.")
    }

    private func showSideBySide(v1: [ConsumerRecord], v2: [ConsumerRecord], start: Int64) throws {
        let decoder = JSONDecoder()
        let serde = TimeWindowedSerde(StringSerde(), windowSize: 60_000)
        var v1Totals: [String: Topology.Totals] = [:]
        for record in v1 where record.topic == Topology.perMinute {
            let key = try serde.deserialize(record.key ?? [])
            v1Totals["\(key.key)@\(key.window.start)"] = try decoder.decode(Topology.Totals.self, from: Data(record.value ?? []))
        }
        let rows = try v2.map { record in
            (try serde.deserialize(record.key ?? []), try decoder.decode(Topology.TotalsV2.self, from: Data(record.value ?? [])))
        }.sorted { ($0.0.window.start, $0.0.key) < ($1.0.window.start, $1.0.key) }
        let closedInBoth = rows.filter { v1Totals["\($0.0.key)@\($0.0.window.start)"] != nil }
        let agreeing = closedInBoth.filter { key, totals in
            let old = v1Totals["\(key.key)@\(key.window.start)"]!
            return old.orders == totals.orders && old.revenue == totals.revenue
        }
        print("\nVersion 2 agrees with version 1 on \(agreeing.count) of the \(closedInBoth.count) minutes version 1 closed (replay equals live):")
        print("  minute     category  v1 orders  v1 revenue | v2 orders  v2 revenue  big orders")
        for (key, totals) in rows {
            let old = v1Totals["\(key.key)@\(key.window.start)"]
            let minute = "\(clock(key.window.start, start))-\(clock(key.window.end, start))"
            let v1Columns = old.map { "\(pad(String($0.orders), 10)) \(pad(money($0.revenue), 10))" } ?? "\(pad("(open)", 10)) \(pad("", 10))"
            print("  \(pad(minute, 10)) \(pad(key.key, 9)) \(v1Columns) | \(pad(String(totals.orders), 9)) \(pad(money(totals.revenue), 11)) \(totals.bigOrders)")
        }
    }
}

func clock(_ time: Int64, _ start: Int64) -> String {
    let seconds = (time - start) / 1_000
    return String(format: "%d:%02d", seconds / 60, seconds % 60)
}

func money(_ cents: Int64) -> String { String(format: "$%.2f", Double(cents) / 100) }

func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }

extension Duration {
    var fractionalSecondsForSample: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
