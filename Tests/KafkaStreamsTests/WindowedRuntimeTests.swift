import Foundation
@testable import KafkaStreams
import KafkaStreamsTesting
import RdKafka
import Testing

/// Windowed aggregations through StreamsApp on the embedded broker: window stores restored
/// from their changelog and queried, and final results that a restart neither repeats nor
/// skips.
@Suite struct WindowedRuntimeTests {
    /// A minute-aligned start (librdkafka stamps a time of 0 with the current time).
    static let base: Int64 = 60_000 * 1_000

    static func record(_ topic: String, key: String, at offset: Int64) -> ProducerRecord {
        ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(key.utf8), timestamp: base + offset)
    }

    @Test func aWindowStoreIsRestoredFromItsChangelogAndQueried() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("views", partitions: 2)
        let builder = StreamsBuilder()
        builder.stream("views", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(10)))
            .count(materialized: .as("views-per-minute"))
        let topology = try builder.build()
        let views = ["home": [1_000, 2_000, 61_000], "cart": [3_000, 59_999]]
        try await kafka.produce(views.flatMap { page, times in times.map { Self.record("views", key: page, at: Int64($0)) } })
        let configuration = kafka.streamsConfiguration(applicationID: "windows-restore")
        func expectCounts(_ app: StreamsApp) async throws {
            let store = try app.windowStore(named: "views-per-minute", key: String.self, value: Int64.self)
            // The pages may live in different partitions: wait for both.
            func home() throws -> [String] {
                try store.fetch("home", from: Self.base, to: Self.base + 60_000).map { "\($0.window.start - Self.base)=\($0.value)" }
            }
            let ready = try await waitUntil(timeout: .seconds(60)) {
                (try? store.fetch("cart", windowStart: Self.base)) == 2 && (try? home()) == ["0=2", "60000=1"]
            }
            #expect(ready)
            #expect(try home() == ["0=2", "60000=1"])
        }
        let first = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
        try await expectCounts(first.app)
        try await first.stop().get()
        // Local state gone: the windows come back from the changelog.
        try FileManager.default.removeItem(atPath: configuration.stateDirectory)
        let second = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
        try await expectCounts(second.app)
        try await second.stop().get()
    }

    @Test func retentionDropsOldSegmentsAndARestoreDropsThemAgain() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("events", partitions: 1)
        let builder = StreamsBuilder()
        // Retention of a minute: segments of a minute, each dropped once stream time is a
        // minute past its end.
        builder.stream("events", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(60), grace: .zero))
            .count(materialized: .as("per-minute"), retention: .seconds(60))
        let topology = try builder.build()
        var configuration = kafka.streamsConfiguration(applicationID: "windows-retention")
        configuration.commitInterval = .milliseconds(100)
        func windows(_ app: StreamsApp) throws -> [String] {
            try app.windowStore(named: "per-minute", key: String.self, value: Int64.self).fetchAll(from: Self.base, to: Self.base + 600_000)
                .map { "\($0.key.key)@\($0.key.window.start - Self.base)=\($0.value)" }
        }
        func waitFor(_ expected: [String], in app: StreamsApp) async throws {
            let reached = try await waitUntil(timeout: .seconds(60)) { (try? windows(app)) == expected }
            #expect(reached, "windows: \(String(describing: try? windows(app))), expected \(expected)")
        }

        // The window of a reaches the changelog; then 130 s of stream time drops its
        // segment, [0, 60 s).
        try await kafka.produce([Self.record("events", key: "a", at: 1_000)])
        let first = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
        let changelog = "windows-retention-per-minute-changelog"
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        // The app creates its changelog as it starts.
        while ContinuousClock.now < deadline, (try? await kafka.readAll(changelog))?.isEmpty ?? true { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try await !kafka.readAll(changelog).isEmpty)
        try await kafka.produce([Self.record("events", key: "b", at: 130_000)])
        try await waitFor(["b@120000=1"], in: first.app)
        try await first.stop().get()

        // Local state gone: the changelog (which the topic's retention, not tombstones,
        // trims) brings the dropped window back. Queries do not see it (it is older than
        // the restored stream time less the retention), and the next record drops it from
        // the store, even one that does not move stream time.
        try FileManager.default.removeItem(atPath: configuration.stateDirectory)
        let second = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
        try await waitFor(["b@120000=1"], in: second.app)
        try await kafka.produce([Self.record("events", key: "c", at: 125_000)])
        try await waitFor(["b@120000=1", "c@120000=1"], in: second.app)
        try await second.stop().get()
        // The store's own keys: [segment][key][start], the segment a minute of starts.
        let bigEndian = { (value: Int64) in withUnsafeBytes(of: value.bigEndian) { Array($0) } }
        let stored = try RocksDBBytesStore(path: "\(configuration.stateDirectory)/windows-retention/0_0/per-minute", resources: nil)
        defer { stored.close() }
        let keys = try stored.range(from: nil, to: nil).map(\.key)
        #expect(!keys.contains(bigEndian(Self.base / 60_000) + Array("a".utf8) + bigEndian(Self.base)))
        #expect(keys.contains(bigEndian((Self.base + 120_000) / 60_000) + Array("b".utf8) + bigEndian(Self.base + 120_000)))
    }

    @Test func finalResultsComeOnceAcrossARestart() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("clicks", partitions: 1)
        try kafka.createTopic("clicks-per-10s", partitions: 1)
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .string, value: .string).groupByKey()
            .windowedBy(.tumbling(size: .seconds(10), grace: .zero))
            .count(materialized: .as("clicks-per-10s"), emit: .onWindowClose)
            .toStream()
            .to("clicks-per-10s", key: .timeWindowed(.string, windowSize: .seconds(10)), value: .optional(.int64))
        let topology = try builder.build()
        let configuration = kafka.streamsConfiguration(applicationID: "final-once")
        let serde = TimeWindowedSerde(StringSerde(), windowSize: 10_000)
        func results() async throws -> [String] {
            try await kafka.readAll("clicks-per-10s").map { record in
                let key = try serde.deserialize(record.key ?? [])
                let count = try BigEndianIntegerSerde<Int64>().deserialize(record.value ?? [])
                return "\(key.key)@\(key.window.start - Self.base)=\(count)"
            }
        }
        func runUntil(_ expected: [String]) async throws {
            let running = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
            // Wait for the results this run must give; a repeat would come before them.
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while ContinuousClock.now < deadline, try await results().count < expected.count {
                try await Task.sleep(for: .milliseconds(200))
            }
            try await running.stop().get()
        }
        // The click at 11 s closes [0 s, 10 s).
        try await kafka.produce([Self.record("clicks", key: "k1", at: 1_000), Self.record("clicks", key: "k2", at: 2_000), Self.record("clicks", key: "k1", at: 11_000)])
        let firstWindow = ["k1@0=1", "k2@0=1"]
        try await runUntil(firstWindow)
        #expect(try await results() == firstWindow)
        // After a restart, the click at 25 s closes [10 s, 20 s) only: [0 s, 10 s) is not sent again.
        try await kafka.produce([Self.record("clicks", key: "k2", at: 12_000), Self.record("clicks", key: "k1", at: 25_000)])
        try await runUntil(firstWindow + ["k1@10000=1", "k2@10000=1"])
        #expect(try await results() == firstWindow + ["k1@10000=1", "k2@10000=1"])
    }

    @Test func cachedSessionsReachDownstreamOnlyAsTheirLatestValues() async throws {
        // KStreamSessionWindowAggregateProcessorTest.shouldHandleMultipleSessionsAndMerging,
        // cache on and one flush at the end (here: the commit as the app stops). Sessions
        // merged away before it (d's first, a's second) reach neither downstream nor as
        // deletions; the rest arrive in the order of their latest writes. The retention
        // (gap + grace) drops the sessions that ended at 0 before the flush: they are sent
        // as they expire, still first and in their order.
        let gap: Int64 = 300_000
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("sessions-in", partitions: 1)
        try kafka.createTopic("sessions-out", partitions: 1)
        let builder = StreamsBuilder()
        builder.stream("sessions-in", key: .string, value: .string).groupByKey()
            .windowedBy(.session(gap: .milliseconds(gap), grace: .zero))
            .count(materialized: .as("sessions"))
            .toStream()
            .to("sessions-out", key: .sessionWindowed(.string), value: .optional(.int64))
        let topology = try builder.build()
        var configuration = kafka.streamsConfiguration(applicationID: "cached-sessions")
        // No commit, so no flush, until the app stops.
        configuration.commitInterval = .seconds(120)
        let inputs: [(String, Int64)] = [
            ("a", 0), ("b", 0), ("c", 0), ("d", 0), ("d", gap / 2), ("a", gap + 1), ("b", gap + 1), ("a", gap + 1 + gap / 2), ("c", gap + 1 + gap / 2),
        ]
        try await kafka.produce(inputs.map { Self.record("sessions-in", key: $0.0, at: $0.1) })
        let running = RunningApp(try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger))
        // Every record processed: the last ones' sessions are in the store (its cache).
        let store = try running.app.sessionStore(named: "sessions", key: String.self, value: Int64.self)
        let late = gap + 1 + gap / 2
        func latest(_ key: String) -> [String]? {
            (try? store.sessions(of: key))?.map { "\($0.window.start - Self.base),\($0.window.end - Self.base)=\($0.value)" }
        }
        let processed = try await waitUntil(timeout: .seconds(60)) {
            latest("a") == ["\(gap + 1),\(late)=2"] && latest("c") == ["\(late),\(late)=1"]
        }
        #expect(processed, "a: \(String(describing: latest("a"))), c: \(String(describing: latest("c")))")
        try await running.stop().get()
        let serde = SessionWindowedSerde(StringSerde())
        let results = try await kafka.readAll("sessions-out").map { record in
            let key = try serde.deserialize(record.key ?? [])
            let count = record.value.map { try? BigEndianIntegerSerde<Int64>().deserialize($0) } ?? nil
            return "\(key.key)[\(key.window.start - Self.base),\(key.window.end - Self.base)]=\(count.map(String.init) ?? "null") t\(record.timestamp - Self.base)"
        }
        #expect(results == [
            "a[0,0]=1 t0", "b[0,0]=1 t0", "c[0,0]=1 t0", "d[0,\(gap / 2)]=2 t\(gap / 2)", "b[\(gap + 1),\(gap + 1)]=1 t\(gap + 1)",
            "a[\(gap + 1),\(late)]=2 t\(late)", "c[\(late),\(late)]=1 t\(late)",
        ])
    }
}
