import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka
import Synchronization
import Testing

/// A record that fails under the `.fail` handler after some of its effects happened (one
/// branch wrote its output, the other threw): exactly-once must discard them, with
/// everything since the last commit; at-least-once keeps what came before the bad record.
@Suite struct FailedRecordTests {
    static let values = (0..<30).map { $0 == 20 ? "poison" : "value-\($0)" }

    struct PoisonError: Error {}

    /// `in` goes to `echo` as it is; a second branch counts each key's records into the
    /// store `counts` (and the topic `counts`), and throws on "poison" while `poisonFails`.
    static func topology(poisonFails: Bool) throws -> Topology {
        let builder = StreamsBuilder()
        let input = builder.stream("in", key: .string, value: .string)
        input.to("echo")
        input.mapValues { value in
            if poisonFails && value == "poison" { throw PoisonError() }
            return value
        }
        .groupByKey()
        .count(materialized: .as("counts"))
        .toStream()
        .to("counts", value: .optional(.int64))
        return try builder.build()
    }

    struct Fixture {
        let cluster = SimulatedCluster(seed: 11)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("failed-record-\(UInt64.random(in: 0...UInt64.max))").path
        var configuration: StreamsConfiguration

        init(guarantee: StreamsConfiguration.ProcessingGuarantee, cache: Bool) throws {
            for topic in ["in", "echo", "counts"] { cluster.createTopic(topic, partitions: 1) }
            for (index, value) in FailedRecordTests.values.enumerated() {
                try cluster.produce("in", key: Array("key-\(index % 3)".utf8), value: Array(value.utf8), partition: 0)
            }
            configuration = StreamsConfiguration(applicationID: "failed-record", bootstrapServers: "simulated")
            configuration.processingGuarantee = guarantee
            configuration.stateDirectory = directory
            configuration.maxPollRecords = 4
            configuration.recordCacheBytes = cache ? 1 << 20 : 0
        }

        func values(_ topic: String) -> [String] {
            cluster.records(topic, isolation: .readCommitted).map { String(decoding: $0.value ?? [], as: UTF8.self) }
        }

        func counts() -> [String: [Int64]] {
            cluster.records("counts", isolation: .readCommitted).reduce(into: [:]) { result, record in
                let value = (try? (record.value ?? []).withUnsafeBytes { try BigEndianIntegerSerde<Int64>().deserialize($0) }) ?? -1
                result[String(decoding: record.key ?? [], as: UTF8.self), default: []].append(value)
            }
        }

        /// Runs the topology until it stops; returns the error it stopped with.
        func runFailing() async throws -> (any Error)? {
            do {
                _ = try await cluster.runUntilProcessed({ try FailedRecordTests.topology(poisonFails: true) }, configuration: configuration, logger: quietLogger)
                return nil
            } catch {
                return error
            }
        }

        /// Runs the fixed topology until every input is processed; returns its stores' counts.
        func runFixed() async throws -> [String: Int64] {
            let stored = Mutex<[String: Int64]>([:])
            _ = try await cluster.runUntilProcessed({ try FailedRecordTests.topology(poisonFails: false) }, configuration: configuration, logger: quietLogger) { app in
                let store = try app.store(named: "counts", key: String.self, value: Int64.self)
                let counts = try (0..<3).reduce(into: [String: Int64]()) { $0["key-\($1)"] = try store.get("key-\($1)") }
                stored.withLock { $0 = counts }
            }
            return stored.withLock { $0 }
        }

        var quietLogger: Logger {
            var logger = streamsTestLogger
            logger.logLevel = .critical
            return logger
        }
    }

    @Test(arguments: [false, true])
    func exactlyOnceDiscardsEveryEffectOfTheFailedAttempt(cache: Bool) async throws {
        let fixture = try Fixture(guarantee: .exactlyOnce, cache: cache)
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }

        let failure = try await fixture.runFailing()
        #expect(failure.map { "\($0)".contains("PoisonError") } == true, "stops on the poison record: \(String(describing: failure))")
        let committedBeforeRestart = fixture.values("echo")
        #expect(!committedBeforeRestart.contains("poison"), "the failed record's echo stays invisible")
        #expect(committedBeforeRestart == Array(Self.values.prefix(committedBeforeRestart.count)), "only whole commits are visible")
        #expect(fixture.cluster.statistics.abortedTransactions >= 1)

        let stored = try await fixture.runFixed()
        #expect(fixture.values("echo") == Self.values, "every input exactly once")
        var expectedCounts: [String: Int64] = [:]
        for index in Self.values.indices { expectedCounts["key-\(index % 3)", default: 0] += 1 }
        #expect(stored == expectedCounts)
        for (key, counts) in fixture.counts() {
            // Each count appears at most once, in order, and the last is the total.
            #expect(counts == counts.sorted() && Set(counts).count == counts.count, "\(key): \(counts)")
            #expect(counts.last == expectedCounts[key], "\(key): \(counts)")
            if !cache { #expect(counts == Array(1...(expectedCounts[key] ?? 0)), "\(key): \(counts)") }
        }
    }

    @Test func atLeastOnceCommitsWhatCameBeforeTheBadRecord() async throws {
        let fixture = try Fixture(guarantee: .atLeastOnce, cache: true)
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }

        let failure = try await fixture.runFailing()
        #expect(failure != nil)
        let poison = Int64(Self.values.firstIndex(of: "poison")!)
        #expect(fixture.cluster.committedOffsets(group: "failed-record")[TopicPartition(topic: "in", partition: 0)] == poison)
        // The echo of the poison record went out before its sibling threw: at-least-once
        // sends it again on restart.
        #expect(Array(fixture.values("echo").prefix(Int(poison) + 1)) == Array(Self.values.prefix(Int(poison) + 1)))

        _ = try await fixture.runFixed()
        #expect(Set(fixture.values("echo")) == Set(Self.values))
    }
}

/// A commit whose cache flush fails (a node downstream of the cache throws) must commit no
/// offset under at-least-once: the entries after the failed one never went downstream.
@Suite struct FailedFlushTests {
    static func topology(failing: Bool) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("in", key: .string, value: .string)
            .groupByKey()
            .count(materialized: .as("counts"))
            .toStream()
            .peek { key, _ in
                if failing && key == "key-1" { throw FailedRecordTests.PoisonError() }
            }
            .to("counts", value: .optional(.int64))
        return try builder.build()
    }

    @Test func aFailedFlushCommitsNoOffsetAndLosesNoOutput() async throws {
        let fixture = try FailedRecordTests.Fixture(guarantee: .atLeastOnce, cache: true)
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        await #expect(throws: (any Error).self) {
            _ = try await fixture.cluster.runUntilProcessed({ try Self.topology(failing: true) }, configuration: fixture.configuration, logger: fixture.quietLogger)
        }
        #expect(fixture.cluster.committedOffsets(group: "failed-record").isEmpty, "no offset after a failed flush")

        _ = try await fixture.cluster.runUntilProcessed({ try Self.topology(failing: false) }, configuration: fixture.configuration, logger: fixture.quietLogger)
        var expected: [String: Int64] = [:]
        for index in FailedRecordTests.values.indices { expected["key-\(index % 3)", default: 0] += 1 }
        // At-least-once may count records twice; it must not miss one.
        let counts = fixture.counts()
        for (key, total) in expected {
            #expect((counts[key]?.last ?? 0) >= total, "\(key): \(counts[key] ?? [])")
        }
    }
}
