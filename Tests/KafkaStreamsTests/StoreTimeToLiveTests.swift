import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Key-value stores whose entries expire a time to live of stream time after their last
/// update: reads miss them at once, and a purge at a commit deletes them with a tombstone
/// to the changelog.
@Suite struct StoreTimeToLiveTests {
    /// Each page view is forwarded as `previous>current`, the previous page read from a
    /// store whose entries live 5 s.
    static func lastPageTopology(kind: StoreKind) throws -> Topology {
        var topology = Topology()
        try topology.addSource("views", topics: ["views"], key: StringSerde(), value: StringSerde())
        try topology.addStateStore(
            KeyValueStoreBuilder<String, String>(name: "last-page", kind: kind, keySerde: StringSerde(), valueSerde: StringSerde())
                .withTimeToLive(.seconds(5)))
        try topology.addProcessor("previous", parents: ["views"], stores: ["last-page"]) { (context: ProcessorContext<String, String>) in
            try PreviousPage(context: context, store: context.store(named: "last-page"))
        }
        try topology.addSink("out", topic: "transitions", parents: ["previous"], key: StringSerde(), value: StringSerde())
        return topology
    }

    @Test(arguments: [StoreKind.persistent, .inMemory])
    func anEntryIsGoneOnceStreamTimeReachesItsTimePlusTheTimeToLive(kind: StoreKind) throws {
        let driver = try TopologyTestDriver(Self.lastPageTopology(kind: kind), applicationID: "ttl")
        defer { driver.close() }
        let views = driver.createInputTopic("views", key: StringSerde(), value: StringSerde())
        let transitions = driver.createOutputTopic("transitions", key: StringSerde(), value: StringSerde())
        try views.pipeInput(key: "u1", value: "/home", timestamp: 1_000)
        try views.pipeInput(key: "u2", value: "/cart", timestamp: 2_000)
        // One millisecond short of u1's expiry: still there, and the update renews it.
        try views.pipeInput(key: "u1", value: "/shop", timestamp: 5_999)
        // Stream time 7,000 = u2's time + 5 s: u2 is gone.
        try views.pipeInput(key: "u2", value: "/pay", timestamp: 7_000)
        // An out-of-order record's write takes stream time (7,000), not its own (3,000),
        // so u1 is still there at 11,999 ...
        try views.pipeInput(key: "u1", value: "/help", timestamp: 3_000)
        try views.pipeInput(key: "u1", value: "/faq", timestamp: 11_999)
        try views.pipeInput(key: "u3", value: "/home", timestamp: 12_000)
        // ... and gone at 16,999.
        try views.pipeInput(key: "u1", value: "/home", timestamp: 16_999)
        #expect(try transitions.readKeyValuesToList().map { "\($0.key) \($0.value)" } == [
            "u1 ->/home", "u2 ->/cart", "u1 /home>/shop", "u2 ->/pay", "u1 /shop>/help", "u1 /help>/faq", "u3 ->/home", "u1 ->/home",
        ])

        // Queries see the same: at stream time 16,999, u2 (7,000) is gone, u3 (12,000) is not.
        let store = try driver.keyValueStore(named: "last-page", key: String.self, value: String.self)
        #expect(try store.all().map { "\($0.key)=\($0.value)" } == ["u1=/home", "u3=/home"])
        #expect(try store.get("u2") == nil)
    }

    /// Expired entries leave through the changelog, so a store restored from it holds what
    /// the live one does.
    @Test func expiredEntriesGetTombstonesInTheChangelog() throws {
        let metrics = TestMetrics()
        let driver = try TopologyTestDriver(Self.lastPageTopology(kind: .persistent), applicationID: "ttl-tombstones")
        defer { driver.close() }
        let views = driver.createInputTopic("views", key: StringSerde(), value: StringSerde())
        let changelog = driver.createOutputTopic("ttl-tombstones-last-page-changelog", key: StringSerde(), value: OptionalSerde(StringSerde()))
        try views.pipeInput(key: "u1", value: "/home", timestamp: 0)
        try views.pipeInput(key: "u2", value: "/cart", timestamp: 4_000)
        try views.pipeInput(key: "u3", value: "/pay", timestamp: 6_000)
        try views.pipeInput(key: "u3", value: "/done", timestamp: 9_500)
        #expect(try changelog.readRecordsToList().map { "\($0.key)=\($0.value ?? "null")@\($0.timestamp)" } == [
            "u1=/home@0", "u2=/cart@4000", "u3=/pay@6000",
            // The purge at the commit after 6,000 (u1 expired at 5,000) ...
            "u1=null@6000",
            // ... and the next one due at 9,500 (u2 expired at 9,000).
            "u3=/done@9500", "u2=null@9500",
        ])
        #expect(metrics.total("kafka_streams_store_expired_entries_total", application: "ttl-tombstones") == 2)
    }

    /// A store rebuilt on another host from its changelog has neither the purged entries
    /// nor new times for the others: an entry restored with time 7,500 is there at 12,499.
    @Test func aRestoredStoreKeepsItsEntriesTimesAndNotTheExpiredOnes() async throws {
        let cluster = SimulatedCluster(seed: 11)
        for topic in ["views", "transitions", "ttl-restore-last-page-changelog"] { cluster.createTopic(topic, partitions: 1) }
        var configuration = StreamsConfiguration(applicationID: "ttl-restore", bootstrapServers: "simulated")
        configuration.recordCacheBytes = 0
        let first = FileManager.default.temporaryDirectory.appendingPathComponent("ttl-restore-\(UInt64.random(in: 0...UInt64.max))").path
        let second = first + "-rebuilt"
        defer { for directory in [first, second] { try? FileManager.default.removeItem(atPath: directory) } }
        let run = { (directory: String) async throws in
            configuration.stateDirectory = directory
            _ = try await cluster.runUntilProcessed({ try Self.lastPageTopology(kind: .persistent) }, configuration: configuration, logger: streamsTestLogger)
        }
        let view = { (user: String, page: String, time: Int64) throws in
            _ = try cluster.produce("views", key: Array(user.utf8), value: Array(page.utf8), timestamp: time)
        }

        try view("u1", "/home", 1_000)
        try view("u2", "/cart", 2_000)
        try view("u3", "/pay", 7_500)
        try await run(first)
        let changelog = cluster.records("ttl-restore-last-page-changelog")
        #expect(changelog.filter { $0.value == nil }.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }.sorted() == ["u1", "u2"])

        try view("u3", "/faq", 12_499)
        try view("u1", "/shop", 12_500)
        try await run(second)
        let transitions = cluster.records("transitions").map { record in
            "\(record.key.map { String(decoding: $0, as: UTF8.self) } ?? "") \(record.value.map { String(decoding: $0, as: UTF8.self) } ?? "")"
        }
        #expect(transitions == ["u1 ->/home", "u2 ->/cart", "u3 ->/pay", "u3 /pay>/faq", "u1 ->/shop"])
    }

    /// A restarted task's stream time starts again from the records it processes; what had
    /// expired before the restart stays expired for an out-of-order record after it (here
    /// through the purge's tombstone; an entry not yet purged through the store's latest
    /// time, which the restarted task takes as where stream time had got to).
    @Test func aRestartKeepsWhatHadExpiredExpired() async throws {
        let cluster = SimulatedCluster(seed: 12)
        for topic in ["logins", "login-counts", "ttl-restart-recent-logins-changelog"] { cluster.createTopic(topic, partitions: 1) }
        var configuration = StreamsConfiguration(applicationID: "ttl-restart", bootstrapServers: "simulated")
        configuration.recordCacheBytes = 0
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ttl-restart-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        configuration.stateDirectory = directory
        let topology: @Sendable () throws -> Topology = {
            let builder = StreamsBuilder()
            builder.stream("logins", key: .string, value: .string).groupByKey()
                .count(materialized: Materialized.as("recent-logins").withTimeToLive(.seconds(5)))
                .toStream().to("login-counts", key: .string, value: .optional(.int64))
            return try builder.build()
        }
        let login = { (user: String, time: Int64) throws in
            _ = try cluster.produce("logins", key: Array(user.utf8), value: Array("login".utf8), timestamp: time)
        }
        try login("ann", 10_000)
        try login("bob", 20_000)
        _ = try await cluster.runUntilProcessed(topology, configuration: configuration, logger: streamsTestLogger)
        // Restarted: ann's count (10,000) expired at stream time 15,000, which the first
        // run passed; a login of ann at 12,000 counts from one.
        try login("ann", 12_000)
        _ = try await cluster.runUntilProcessed(topology, configuration: configuration, logger: streamsTestLogger)
        let counts = try cluster.records("login-counts").map { record in
            "\(String(decoding: record.key ?? [], as: UTF8.self))=\(try record.value.map { try $0.withUnsafeBytes { try BigEndianIntegerSerde<Int64>().deserialize($0) } } ?? -1)"
        }
        #expect(counts == ["ann=1", "bob=1", "ann=1"])
    }

    /// A DSL count whose counts expire: a key unseen for the time to live counts from one
    /// again, and its changelog says so.
    @Test func aCountStartsAgainAfterItsKeyExpired() throws {
        let builder = StreamsBuilder()
        builder.stream("logins", key: .string, value: .string)
            .groupByKey()
            .count(materialized: Materialized.as("recent-logins").withTimeToLive(.seconds(5)))
            .toStream().to("login-counts", key: .string, value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build(), applicationID: "logins")
        defer { driver.close() }
        let logins = driver.createInputTopic("logins", key: StringSerde(), value: StringSerde())
        for (user, time) in [("a", 0), ("a", 1_000), ("b", 6_000), ("a", 6_001), ("b", 10_999), ("b", 16_000)] {
            try logins.pipeInput(key: user, value: "login", timestamp: Int64(time))
        }
        let counts = driver.createOutputTopic("login-counts", key: StringSerde(), value: OptionalSerde(BigEndianIntegerSerde<Int64>()))
        // a's count (time 1,000) expires at 6,000; b's (10,999) at 15,999. The purges at
        // 6,000 and 16,000 delete a; b was written anew at 16,000 before the second.
        #expect(try counts.readRecordsToList().map { "\($0.key)=\($0.value.map { "\($0)" } ?? "null")@\($0.timestamp)" } == [
            "a=1@0", "a=2@1000", "b=1@6000", "a=1@6001", "b=2@10999", "b=1@16000",
        ])
        let changelog = driver.createOutputTopic("logins-recent-logins-changelog", key: StringSerde(), value: OptionalSerde(BigEndianIntegerSerde<Int64>()))
        #expect(try changelog.readKeyValuesToList().filter { $0.value == nil }.map(\.key) == ["a", "a"])
    }

    @Test func aTimeToLiveBelowOneMillisecondOrOnAWindowedStoreIsRefused() throws {
        var topology = Topology()
        #expect(throws: StreamsError.self) {
            try topology.addStateStore(KeyValueStoreBuilder<String, String>.inMemory("zero").withTimeToLive(.zero))
        }
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(60), grace: .zero))
            .count(materialized: Materialized().withTimeToLive(.seconds(5)))
        let error = #expect(throws: StreamsError.self) { try builder.build() }
        #expect(error?.description.contains("retention bounds it") == true)
    }
}

private final class PreviousPage: Processor {
    let context: ProcessorContext<String, String>
    let store: any KeyValueStore<String, String>

    init(context: ProcessorContext<String, String>, store: any KeyValueStore<String, String>) {
        self.context = context
        self.store = store
    }

    func process(_ record: Record<String, String>) throws {
        let previous = try store.get(record.key)
        try context.forward(record.withValue("\(previous ?? "-")>\(record.value)"))
        try store.put(record.key, record.value)
    }
}
