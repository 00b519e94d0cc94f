import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Which instance holds a key (`metadata(forKey:store:keySerde:)`), as Kafka Streams'
/// `queryMetadataForKey` answers it: checked against where each key's count actually is.
@Suite struct InstanceMetadataTests {
    @Test func endpointsParseAsHostAndPort() {
        #expect(HostInfo(parsing: "orders-1.internal:8080") == HostInfo(host: "orders-1.internal", port: 8080))
        #expect(HostInfo(parsing: "[::1]:9000") == HostInfo(host: "::1", port: 9000))
        #expect(HostInfo(host: "::1", port: 9000).description == "[::1]:9000")
        for bad in ["", "host", "host:", ":8080", "host:0", "host:65536", "host:http", "my host:80"] {
            #expect(HostInfo(parsing: bad) == nil, "\"\(bad)\"")
        }
    }

    @Test func aMalformedApplicationServerIsAConfigurationError() throws {
        var configuration = StreamsConfiguration(applicationID: "meta", bootstrapServers: "localhost:9092")
        configuration.applicationServer = "localhost"
        let error = #expect(throws: StreamsError.self) { try configuration.validate() }
        #expect(error?.kind == .configuration)
        #expect("\(error.map { "\($0)" } ?? "")".contains("host:port"))
    }

    @Test func withoutAnApplicationServerMetadataSaysWhatToSet() throws {
        let app = try StreamsApp(
            topology: try Self.topology(), configuration: StreamsConfiguration(applicationID: "meta", bootstrapServers: "localhost:9092"),
            logger: streamsTestLogger)
        let error = #expect(throws: StreamsError.self) { try app.metadata(forKey: "w", store: "meta-counts", keySerde: .string) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("applicationServer"))
    }

    static func topology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("meta-words", key: .string, value: .string)
            .groupBy(key: .string) { _, word in word }
            .count(materialized: .as("meta-counts"))
        return try builder.build()
    }

    static let words = (0..<40).map { "word-\($0)" }

    /// Where each word's count is: the endpoint of the one instance whose store has all of
    /// its records counted (a hand-over under at-least-once may count some twice). Words
    /// no instance, or both, have so are left out.
    static func holders(_ apps: [(app: StreamsApp, host: HostInfo)]) -> [String: HostInfo] {
        var holders: [String: HostInfo] = [:]
        for word in words {
            let found = apps.compactMap { entry -> HostInfo? in
                guard let count = try? entry.app.store(named: "meta-counts", key: String.self, value: Int64.self).get(word) else { return nil }
                return count >= 2 ? entry.host : nil
            }
            if found.count == 1 { holders[word] = found[0] }
        }
        return holders
    }

    /// What `app` says of every word's host (words it cannot place left out).
    static func answers(of app: StreamsApp) -> [String: HostInfo] {
        var answers: [String: HostInfo] = [:]
        for word in words {
            if let metadata = try? app.metadata(forKey: word, store: "meta-counts", keySerde: .string) { answers[word] = metadata.activeHost }
        }
        return answers
    }

    @Test func eachInstanceNamesTheHolderOfAKeyBeforeAndAfterARebalance() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("meta-words", partitions: 4)
        // Each word twice, so a count of 2 or more says the word's records are all in.
        try await kafka.produceValues("meta-words", Self.words + Self.words)
        let hosts = [HostInfo(host: "127.0.0.1", port: 18_001), HostInfo(host: "127.0.0.1", port: 18_002)]
        let directories = hosts.map { _ in FileManager.default.temporaryDirectory.appendingPathComponent("meta-\(UUID())").path }
        defer { for directory in directories { try? FileManager.default.removeItem(atPath: directory) } }
        let running = try zip(hosts, directories).map { host, directory in
            var configuration = kafka.streamsConfiguration(applicationID: "meta-counts-app")
            configuration.stateDirectory = directory
            configuration.applicationServer = host.description
            return RunningApp(try StreamsApp(topology: try Self.topology(), configuration: configuration, logger: streamsTestLogger))
        }
        let both = zip(running.map(\.app), hosts).map { (app: $0, host: $1) }

        // Both instances hold some of the counts, and each names, for every word, the
        // instance whose store has it.
        let settled = try await waitUntil(timeout: .seconds(60)) {
            let holders = Self.holders(both)
            return holders.count == Self.words.count && Set(holders.values).count == 2
                && both.allSatisfy { Self.answers(of: $0.app) == holders }
        }
        let holders = Self.holders(both)
        #expect(settled, "holders: \(holders.count) words on \(Set(holders.values)); answers: \(both.map { Self.answers(of: $0.app).count })")
        for entry in both {
            #expect(Self.answers(of: entry.app) == holders)
            let instances = try entry.app.allMetadata(store: "meta-counts")
            #expect(Set(instances.map(\.hostInfo)) == Set(hosts))
            #expect(instances.reduce(0) { $0 + $1.activeTasks.count } == 4, "\(instances)")
            // The key's partition is where Kafka's producers put it: the task holding it.
            let metadata = try entry.app.metadata(forKey: Self.words[0], store: "meta-counts", keySerde: .string)
            let owner = both.first { $0.host == metadata.activeHost }!.app
            #expect(owner.activeTasks.contains { $0.partition == metadata.partition && instances.first { $0.hostInfo == metadata.activeHost }!.activeTasks.contains($0) })
        }

        // The second instance dies without withdrawing its announcement: the first takes
        // every task over, and its newer announcement overrides the dead one's claims.
        both[1].app.simulateCrash()
        _ = await running[1].task.result
        let movedAll = try await waitUntil(timeout: .seconds(60)) {
            Self.holders([both[0]]).count == Self.words.count && Set(Self.answers(of: both[0].app).values) == [hosts[0]]
                && Self.answers(of: both[0].app).count == Self.words.count
        }
        #expect(movedAll, "answers after the rebalance: \(Self.answers(of: both[0].app))")
        #expect(try both[0].app.allMetadata().map(\.hostInfo) == [hosts[0]])
        try await running[0].stop().get()
        let error = #expect(throws: StreamsError.self) { try both[0].app.metadata(forKey: "word-1", store: "meta-counts", keySerde: .string) }
        #expect(error?.kind == .configuration)
    }
}
