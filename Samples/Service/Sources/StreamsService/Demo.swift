import ArgumentParser
import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka
import ServiceCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Two instances on the embedded broker: a word counted on one instance is asked of both,
/// and the other forwards the request to it.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Two instances on an embedded broker, asked for the same keys.")

    @Option(help: "The first instance's port; the second listens on the next one.") var port = 8081

    func run() async throws {
        var logger = makeLogger()
        // Rebalances as the second instance joins are normal here: only errors are shown.
        logger.logLevel = .error
        let kafka = try EmbeddedKafkaCluster(logger: logger)
        try kafka.createTopic(ServiceTopology.linesTopic, partitions: 4)
        try kafka.createTopic(ServiceTopology.ordersTopic, partitions: 4)
        let hosts = [HostInfo(host: "127.0.0.1", port: port), HostInfo(host: "127.0.0.1", port: port + 1)]
        let services = try hosts.map { host in
            var configuration = kafka.streamsConfiguration(applicationID: "streams-service-demo")
            configuration.stateDirectory = "\(kafka.stateDirectory)/\(host.port)"
            return try StreamsService(configuration: configuration, endpoint: host, registry: metricsRegistry, logger: logger)
        }
        print("two instances of the service on \(hosts.map(\.description).joined(separator: " and ")), on the embedded broker at \(kafka.bootstrapServers)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services { group.addTask { try await service.run() } }
            // Input once both hold their tasks: a rebalance under at-least-once would count
            // some records twice.
            try await Self.waitUntilReady(hosts)
            try await Self.produceInput(kafka)
            try await Self.show(hosts: hosts)
            for service in services { await service.shutdown() }
            try await group.waitForAll()
        }
        print("both instances shut down")
    }

    static let lines = ["the quick brown fox", "jumps over the lazy dog", "the dog sleeps", "streams count the words"]

    static func produceInput(_ kafka: EmbeddedKafkaCluster) async throws {
        try await kafka.produce(ServiceTopology.linesTopic, lines.map { (key: nil, value: Array($0.utf8)) })
        let minute: Int64 = 1_700_000_040_000
        let orders: [(String, Int64)] = [("books", 0), ("books", 20_000), ("games", 30_000), ("books", 65_000), ("games", 70_000), ("books", 130_000)]
        try await kafka.produce(orders.enumerated().map { index, order in
            ProducerRecord(topic: ServiceTopology.ordersTopic, key: Array(order.0.utf8), value: Array("order-\(index)".utf8), timestamp: minute + order.1)
        })
    }

    static func waitUntilReady(_ hosts: [HostInfo]) async throws {
        let client = HTTPGetter()
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            var ready = true
            for host in hosts where try await client.status("http://\(host)/health/ready") != 200 { ready = false }
            if ready { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw ValidationError("the instances did not become ready within 90 s")
    }

    /// Waits until every word of the input is counted, then asks both instances.
    static func show(hosts: [HostInfo]) async throws {
        let client = HTTPGetter()
        let expected = lines.flatMap { $0.split(separator: " ") }.reduce(into: [String: Int64]()) { $0[String($1), default: 0] += 1 }
        let deadline = ContinuousClock.now + .seconds(90)
        counting: while ContinuousClock.now < deadline {
            for (word, count) in expected {
                guard let body = try? await client.body("http://\(hosts[0])/counts/\(word)"),
                    let answer = try? JSONDecoder().decode(WordCountAnswer.self, from: Data(body.utf8)), answer.count == count
                else {
                    try await Task.sleep(for: .milliseconds(250))
                    continue counting
                }
            }
            break
        }
        for word in ["the", "dog", "words"] {
            for host in hosts { print("GET http://\(host)/counts/\(word)  ->  \(try await client.body("http://\(host)/counts/\(word)"))") }
        }
        for host in hosts {
            print("GET http://\(host)/orders/books/per-minute  ->  \(try await client.body("http://\(host)/orders/books/per-minute"))")
        }
        print("GET http://\(hosts[1])/orders/per-minute  ->  \(try await client.body("http://\(hosts[1])/orders/per-minute"))")
        let metrics = try await client.body("http://\(hosts[0])/metrics")
        let names = Set(metrics.split(separator: "\n").filter { $0.hasPrefix("# TYPE kafka_streams_") }.map { $0.split(separator: " ")[2] })
        print("GET http://\(hosts[0])/metrics  ->  \(names.count) kafka_streams_ metrics, \(metrics.utf8.count) bytes")
    }
}

/// A few GETs with Foundation's client.
struct HTTPGetter {
    func status(_ url: String) async throws -> Int {
        do {
            let (_, response) = try await URLSession.shared.data(from: URL(string: url)!)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        } catch {
            return 0  // not listening yet
        }
    }

    func body(_ url: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: url)!)
        return String(decoding: data, as: UTF8.self)
    }
}
