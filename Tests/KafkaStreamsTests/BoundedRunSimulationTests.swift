import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// A bounded run that closes its windows at the end, under exactly-once, on the simulated
/// cluster (which keeps Kafka's transactional semantics) with crashes and abortable errors
/// injected: each run restarts as a new process would, and in the end every window's final
/// count is out once, exactly, the last windows (closed by the end of the input) included.
@Suite struct BoundedRunSimulationTests {
    static let users = 5
    static let records = 200
    static let windowSize: Int64 = 20

    static func topology() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .string, value: .string)
            .groupBy(key: .string) { _, user in user }
            .windowedBy(.tumbling(size: .milliseconds(windowSize), grace: .milliseconds(5)))
            .count(materialized: .as("per-window"), emit: .onWindowClose)
            .toStream()
            .to("per-window", key: .timeWindowed(.string, windowSize: .milliseconds(windowSize)), value: .optional(.int64))
        return try builder.build()
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func everyFinalCountOnceThroughCrashes(seed: UInt64) async throws {
        let cluster = SimulatedCluster(
            seed: seed, injection: CrashInjection(crashProbability: 0.004, abortableErrorProbability: 0.01, maxCrashes: 8))
        // One input partition: the repartition then keeps the input's order, so the records
        // late for their windows do not depend on how the tasks happened to interleave.
        cluster.createTopic("clicks", partitions: 1)
        cluster.createTopic("per-window", partitions: 2)
        var expected: [String: Int64] = [:]
        for index in 0..<Self.records {
            let user = "user-\(index % Self.users)"
            let time = 1_000 + Int64(index)
            _ = try cluster.produce("clicks", key: Array("k\(index)".utf8), value: Array(user.utf8), timestamp: time)
            expected["\(user)@\(time / Self.windowSize * Self.windowSize)", default: 0] += 1
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bounded-sim-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = StreamsConfiguration(applicationID: "bounded-sim", bootstrapServers: "simulated")
        configuration.processingGuarantee = .exactlyOnce
        configuration.commitInterval = .milliseconds(100)
        configuration.recordCacheBytes = 0
        configuration.maxPollRecords = 20
        configuration.stateDirectory = directory
        configuration.boundedRun = BoundedRun(progressInterval: .seconds(5), closesWindowsAtEnd: true)

        var instances = 0
        var finished = false
        while !finished && instances < 50 {
            instances += 1
            let instance = cluster.makeInstance()
            configuration.clients = instance.clients
            let app = try StreamsApp(topology: try Self.topology(), configuration: configuration, logger: streamsTestLogger)
            do {
                try await app.run()
                finished = !instance.hasCrashed
            } catch where instance.hasCrashed || SimulatedCluster.isInjectedError(error) {
                // A new process starts on the same state directory.
            }
        }
        #expect(finished, "the bounded run did not finish in \(instances) instances")
        // The run went through crashes and aborted transactions (8 crashes and about 20
        // injected errors a seed when measured).
        #expect(cluster.statistics.crashes > 0)
        #expect(cluster.statistics.abortedTransactions > 0)

        let serde = TimeWindowedSerde(StringSerde(), windowSize: Self.windowSize)
        var seen: [String: Int64] = [:]
        var repeated = 0
        for record in cluster.records("per-window", isolation: .readCommitted) {
            let windowed = try serde.deserialize(record.key ?? [])
            let name = "\(windowed.key)@\(windowed.window.start)"
            if seen[name] != nil { repeated += 1 }
            seen[name] = try record.value.map { try $0.withUnsafeBytes { try BigEndianIntegerSerde<Int64>().deserialize($0) } }
        }
        #expect(repeated == 0)
        #expect(seen == expected)
    }
}
