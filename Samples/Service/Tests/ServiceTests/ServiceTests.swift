import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import Metrics
import Prometheus
import RdKafka
import ServiceCore
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The service's endpoints over HTTP on loopback, with two instances on the embedded
/// broker: a key held by the other instance is answered through forwarding, readiness
/// waits for restores, and `/metrics` is Prometheus text holding the library's metrics.
@Suite(.serialized) struct ServiceTests {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    static let logger: Logger = {
        var logger = Logger(label: "service-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Ports apart from other runs' on the same machine, and below Linux's ephemeral range
    /// (32768 and up), where the broker's and the clients' own sockets take theirs.
    static let basePort = 20_000 + Int(ProcessInfo.processInfo.processIdentifier % 3_000) * 4

    static let words = (0..<30).map { "w\($0)" }

    static func get(_ url: String) async throws -> (status: Int, body: Data) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    static func status(_ url: String) async -> Int { (try? await get(url).status) ?? 0 }

    /// Starts `service` in the background; the returned task ends when it has stopped.
    static func start(_ service: StreamsService) -> Task<Void, any Error> { Task { try await service.run() } }

    static func service(_ kafka: EmbeddedKafkaCluster, port: Int, applicationID: String, listener: (any StateRestoreListener)? = nil) throws -> StreamsService {
        var configuration = kafka.streamsConfiguration(applicationID: applicationID)
        configuration.stateDirectory = "\(kafka.stateDirectory)/\(port)"
        configuration.restoreListener = listener
        return try StreamsService(
            configuration: configuration, endpoint: HostInfo(host: "127.0.0.1", port: port), registry: registry, logger: logger)
    }

    @Test func aKeyHeldByTheOtherInstanceIsAnsweredThroughForwarding() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: Self.logger)
        try kafka.createTopic(ServiceTopology.linesTopic, partitions: 4)
        try kafka.createTopic(ServiceTopology.ordersTopic, partitions: 4)
        let services = try [0, 1].map { try Self.service(kafka, port: Self.basePort + $0, applicationID: "service-forwarding") }
        let running = services.map(Self.start)
        defer { for task in running { task.cancel() } }
        let urls = services.map { "http://\($0.endpoint)" }
        // Both ready and holding tasks before any input: a rebalance under at-least-once
        // may count a record twice, and the counts below are exact.
        let split = try await Self.waitUntil {
            for url in urls where await Self.status("\(url)/health/ready") != 200 { return false }
            return services.allSatisfy { !$0.app.activeTasks.isEmpty }
        }
        #expect(split, "tasks: \(services.map(\.app.activeTasks))")

        // Each word three times.
        try await kafka.produce(ServiceTopology.linesTopic, (0..<3).map { _ in (key: nil, value: Array(Self.words.joined(separator: " ").utf8)) })
        let minute: Int64 = 1_700_000_040_000
        try await kafka.produce(Self.orders.enumerated().map { index, order in
            ProducerRecord(topic: ServiceTopology.ordersTopic, key: Array(order.category.utf8), value: Array("o\(index)".utf8), timestamp: minute + order.offset)
        })
        // Every word counted three times on its holder.
        let settled = try await Self.waitUntil {
            for word in Self.words {
                guard let answer = try? await Self.count(of: word, at: urls[0]), answer.count == 3 else { return false }
            }
            return true
        }
        #expect(settled, "tasks: \(services.map(\.app.activeTasks))")

        var forwarded = 0
        for word in Self.words {
            let holder = try services[0].app.metadata(forKey: word, store: ServiceTopology.wordCounts, keySerde: .string).activeHost
            for (service, url) in zip(services, urls) {
                let answer = try await Self.count(of: word, at: url)
                #expect(answer.count == 3)
                #expect(answer.servedBy == holder.description, "\(word) asked of \(url)")
                #expect(answer.forwardedBy == (service.endpoint == holder ? nil : service.endpoint.description))
                if answer.forwardedBy != nil { forwarded += 1 }
            }
        }
        // Each word is forwarded by exactly one of the two instances.
        #expect(forwarded == Self.words.count)

        // The per-minute counts of a category, the same whichever instance is asked.
        let firstMinute = OrdersPerMinuteAnswer.Minute(start: minute, end: minute + 60_000, orders: 2)
        let secondMinute = OrdersPerMinuteAnswer.Minute(start: minute + 60_000, end: minute + 120_000, orders: 1)
        for url in urls {
            let (status, body) = try await Self.get("\(url)/orders/books/per-minute")
            #expect(status == 200)
            let answer = try JSONDecoder().decode(OrdersPerMinuteAnswer.self, from: body)
            #expect(answer.minutes == [firstMinute, secondMinute])
        }
        #expect(await Self.status("\(urls[1])/counts/never-seen") == 404)

        // Every category's minutes, gathered from both instances whichever is asked.
        for url in urls {
            let (status, body) = try await Self.get("\(url)/orders/per-minute?from=\(minute)&to=\(minute + 3_600_000)")
            #expect(status == 200)
            let answer = try JSONDecoder().decode(AllOrdersPerMinuteAnswer.self, from: body)
            #expect(answer.minutes == Self.allMinutes(from: minute))
            #expect(answer.servedBy == urls.map { String($0.dropFirst("http://".count)) })
        }

        // Prometheus text: every sample line is `name{labels} value`, and the library's
        // metrics are there.
        // Some are reported at a thread's next commit or report: wait for them.
        let names = ["kafka_streams_records_processed_total", "kafka_streams_commit_latency", "kafka_streams_records_lag", "kafka_streams_tasks_created_total"]
        _ = try await Self.waitUntil {
            guard let (_, body) = try? await Self.get("\(urls[0])/metrics") else { return false }
            let text = String(decoding: body, as: UTF8.self)
            return names.allSatisfy { text.contains("# TYPE \($0) ") }
        }
        let (status, body) = try await Self.get("\(urls[0])/metrics")
        #expect(status == 200)
        let text = String(decoding: body, as: UTF8.self)
        let samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        let sample = try Regex(#"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEInfNa]+$"#)
        let malformed = samples.filter { (try? sample.wholeMatch(in: String($0))) == nil }
        #expect(malformed.isEmpty, "not Prometheus samples: \(malformed.prefix(5))")
        for name in names {
            #expect(text.contains("# TYPE \(name) "), "\(name) missing")
        }

        for service in services { await service.shutdown() }
        for task in running { try await task.value }
    }

    /// Orders of several categories (spread over the instances), by time from the first minute.
    static let orders: [(category: String, offset: Int64)] =
        [("books", 0), ("books", 20_000), ("games", 30_000), ("books", 65_000)] + (0..<8).map { ("category-\($0)", 5_000) }

    /// Every category's minutes, as `/orders/per-minute` gives them.
    static func allMinutes(from minute: Int64) -> [AllOrdersPerMinuteAnswer.Minute] {
        var counts: [String: [Int64: Int64]] = [:]
        for order in orders { counts[order.category, default: [:]][order.offset / 60_000 * 60_000, default: 0] += 1 }
        return counts.flatMap { category, starts in
            starts.map { AllOrdersPerMinuteAnswer.Minute(category: category, start: minute + $0.key, end: minute + $0.key + 60_000, orders: $0.value) }
        }.sorted { ($0.start, $0.category) < ($1.start, $1.category) }
    }

    /// Holds every restore until released.
    final class HeldRestore: StateRestoreListener {
        let started = Atomic<Bool>(false)
        let release = DispatchSemaphore(value: 0)

        func onRestoreStart(store: String, topic: String, partition: Int32, startOffset: Int64, endOffset: Int64) {
            if !started.exchange(true, ordering: .acquiringAndReleasing) { release.wait() }
        }
        func onBatchRestored(store: String, topic: String, partition: Int32, batchEndOffset: Int64, records: Int) {}
        func onRestoreEnd(store: String, topic: String, partition: Int32, totalRecords: Int) {}
    }

    @Test func anInstanceIsNotReadyWhileItsStoresRestore() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: Self.logger)
        try kafka.createTopic(ServiceTopology.linesTopic, partitions: 2)
        try kafka.createTopic(ServiceTopology.ordersTopic, partitions: 2)
        try await kafka.produce(ServiceTopology.linesTopic, [(key: nil, value: Array("a b c".utf8))])
        // A first instance counts, so the changelogs hold something to restore.
        let first = try Self.service(kafka, port: Self.basePort + 2, applicationID: "service-readiness")
        let firstRun = Self.start(first)
        let counted = try await Self.waitUntil { (try? await Self.count(of: "c", at: "http://\(first.endpoint)"))?.count == 1 }
        #expect(counted)
        await first.shutdown()
        try await firstRun.value

        // Its successor has no local state: it restores, held, and is not ready meanwhile.
        let held = HeldRestore()
        let second = try Self.service(kafka, port: Self.basePort + 3, applicationID: "service-readiness", listener: held)
        let secondRun = Self.start(second)
        defer { secondRun.cancel() }
        let url = "http://\(second.endpoint)"
        #expect(try await Self.waitUntil { held.started.load(ordering: .acquiring) }, "no restore started")
        #expect(await Self.status("\(url)/health/live") == 200)
        let (status, body) = try await Self.get("\(url)/health/ready")
        #expect(status == 503)
        #expect(try JSONDecoder().decode(Readiness.self, from: body).ready == false)
        held.release.signal()
        #expect(try await Self.waitUntil { await Self.status("\(url)/health/ready") == 200 })
        // Ready means answering: the instances' view already shows its tasks.
        #expect(try await Self.count(of: "a", at: url).count == 1)
        await second.shutdown()
        try await secondRun.value
    }

    struct UnexpectedStatus: Error {
        let status: Int
        let body: String
    }

    static func count(of word: String, at url: String) async throws -> WordCountAnswer {
        let (status, body) = try await get("\(url)/counts/\(word)")
        guard status == 200 else { throw UnexpectedStatus(status: status, body: String(decoding: body, as: UTF8.self)) }
        return try JSONDecoder().decode(WordCountAnswer.self, from: body)
    }

    /// Checks `condition` every 200 ms until it holds or 90 s pass.
    static func waitUntil(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }
}
