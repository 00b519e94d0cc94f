import ChaosScenarios
import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// The test driver commits through the runtime's own commit sequence: for the same input
/// it gives the same outputs (keys, values, timestamps, order) as a stream thread, here on
/// the simulated cluster, through a repartition topic, four stores, window and session
/// stores emitting on close, a stream–table and a stream–stream join (and a foreign-key
/// join's final rows).
@Suite struct DriverMatchesRuntimeTests {
    @Test(arguments: [StreamsConfiguration.ProcessingGuarantee.atLeastOnce, .exactlyOnce])
    func theDriverAndAStreamThreadGiveTheSameOutputs(guarantee: StreamsConfiguration.ProcessingGuarantee) async throws {
        let scenario = CountSumMinMax(keys: 4, records: 60, partitions: 1)
        let input = scenario.input(seed: 5)
        let topics = [CountSumMinMax.echo] + CountSumMinMax.aggregates
            + [CountSumMinMax.enriched, CountSumMinMax.paired, CountSumMinMax.deduplicated, CountSumMinMax.recentCount]

        let driver = try TopologyTestDriver(CountSumMinMax.topology())
        let pipe = driver.createInputTopic(CountSumMinMax.input, key: .string, value: .int64)
        for (index, record) in input.enumerated() { try pipe.pipeInput(key: record.key, value: record.value, timestamp: Int64(index) * 10) }
        var driven: [String: [String]] = [:]
        for topic in topics {
            driven[topic] = try driver.createOutputTopic(topic, key: .string, value: .optional(.int64)).readRecordsToList()
                .map { "\($0.key)=\($0.value.map(String.init) ?? "null")@\($0.timestamp)" }
        }
        let drivenChained = try Self.latest(driver.createOutputTopic(CountSumMinMax.chained, key: .string, value: .optional(.string)).readRecordsToList().map {
            ($0.key, $0.value ?? "null")
        })
        var drivenWindows: [String: [String]] = [:]
        for topic in [CountSumMinMax.windowedCount, CountSumMinMax.sessionCount] {
            drivenWindows[topic] = try driver.createOutputTopic(topic, key: .bytes, value: .optional(.bytes)).readRecordsToList()
                .map { "\($0.key)=\($0.value ?? [])@\($0.timestamp)" }
        }

        let cluster = SimulatedCluster(seed: 5)
        // The foreign-key join's output is not compared: its answers come back through two
        // topics, which the driver delivers before the next input and a stream thread after
        // a whole batch, so the thread drops more of them as stale (the final rows agree).
        for topic in [CountSumMinMax.input, CountSumMinMax.windowedCount, CountSumMinMax.sessionCount, CountSumMinMax.chained] + topics {
            cluster.createTopic(topic, partitions: 1)
        }
        for (index, record) in input.enumerated() {
            var value: [UInt8] = []
            try BigEndianIntegerSerde<Int64>().serialize(record.value, into: &value)
            _ = try cluster.produce(CountSumMinMax.input, key: Array(record.key.utf8), value: value, timestamp: Int64(index) * 10)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("driver-matches-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = StreamsConfiguration(applicationID: "driver-matches", bootstrapServers: "simulated")
        configuration.processingGuarantee = guarantee
        configuration.stateDirectory = directory
        configuration.recordCacheBytes = 0
        _ = try await cluster.runUntilProcessed({ try CountSumMinMax.topology() }, configuration: configuration, logger: streamsTestLogger)

        for topic in topics {
            let ran = cluster.records(topic, isolation: .readCommitted).map { record in
                let value = record.value.map { bytes in
                    String((try? bytes.withUnsafeBytes { try BigEndianIntegerSerde<Int64>().deserialize($0) }) ?? .min)
                }
                return "\(String(decoding: record.key ?? [], as: UTF8.self))=\(value ?? "null")@\(record.timestamp)"
            }
            #expect(ran == driven[topic], "topic \(topic)")
            #expect(ran.count >= input.count / 4)
        }
        for topic in [CountSumMinMax.windowedCount, CountSumMinMax.sessionCount] {
            let ran = cluster.records(topic, isolation: .readCommitted).map { "\($0.key ?? [])=\($0.value ?? [])@\($0.timestamp)" }
            #expect(ran == drivenWindows[topic], "topic \(topic)")
            // 60 records 10 ms apart over 4 keys: most windows and sessions close.
            #expect(ran.count >= 15, "topic \(topic)")
        }
        let ranChained = Self.latest(cluster.records(CountSumMinMax.chained, isolation: .readCommitted).map {
            (String(decoding: $0.key ?? [], as: UTF8.self), $0.value.map { String(decoding: $0, as: UTF8.self) } ?? "null")
        })
        #expect(ranChained == drivenChained)
        #expect(ranChained.count == 4)
    }

    /// The last value of each key.
    static func latest(_ records: [(String, String)]) -> [String: String] {
        Dictionary(records, uniquingKeysWith: { _, last in last })
    }
}
