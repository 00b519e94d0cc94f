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

    /// Per-minute counts of each user feeding hourly totals of all users (three
    /// sub-topology levels), each level's two tasks split between two instances. The
    /// graces are longer than the input, so no record is ever late and every window closes
    /// at the end: an instance that closed its hours before the other's minutes were final
    /// would drop those minutes as late. The instance without the hour task takes a second
    /// and a half to send its final minutes, so the other would close the hours meanwhile;
    /// with the finish marks, each instance asks for a level only once both have finished
    /// the one before, and every hour's sum is out once, the same as the test driver gives.
    @Test(arguments: [StreamsConfiguration.ProcessingGuarantee.atLeastOnce, .exactlyOnce])
    func twoInstancesCloseTheirWindowsLevelByLevelTogether(guarantee: StreamsConfiguration.ProcessingGuarantee) async throws {
        let cluster = SimulatedCluster(seed: guarantee == .exactlyOnce ? 11 : 12)
        // No transaction times out here (fences are the next test's). Each idle poll of one
        // instance runs the simulated clock on by a tenth of a second at once, about an hour
        // of it in a run of this test: the slow instance's transaction could outlive any
        // realistic timeout while the other spins.
        let hours = try await runSplit(
            on: cluster, guarantee: guarantee, applicationID: "split-finish-\(guarantee == .exactlyOnce ? "eos" : "alos")",
            transactionTimeout: .seconds(86_400))
        #expect(hours == (try Self.expected()))
        #expect(cluster.statistics.expiredTransactions == 0)
    }

    /// The same under exactly-once, with transactions that time out while the other
    /// instance runs on (a transaction timeout of one simulated second): producers are
    /// fenced and rejoin, and partitions move while their previous owner may still be
    /// committing. A new owner starts only from stable offsets, and a member behind the
    /// group's latest rebalance cannot commit (KIP-447), so no minute is counted twice.
    @Test func twoInstancesCloseTheirWindowsTogetherThroughFencedProducers() async throws {
        let expected = try Self.expected()
        var expired = 0
        for round in 0..<4 {
            let cluster = SimulatedCluster(seed: 20 + UInt64(round))
            let hours = try await runSplit(
                on: cluster, guarantee: .exactlyOnce, applicationID: "split-fenced-\(round)", transactionTimeout: .seconds(1), slowFinish: false)
            #expect(hours == expected, "round \(round): \(cluster.statistics)")
            expired += cluster.statistics.expiredTransactions
        }
        #expect(expired > 0, "no transaction timed out: nothing was fenced")
    }

    /// Runs the minutes-into-hours topology to its end on two instances of `cluster`, the
    /// tasks split between them, and returns the hourly totals, sorted.
    func runSplit(
        on cluster: SimulatedCluster, guarantee: StreamsConfiguration.ProcessingGuarantee, applicationID: String,
        transactionTimeout: Duration? = nil, slowFinish: Bool = true
    ) async throws -> [String] {
        cluster.createTopic("split-clicks", partitions: 2)
        cluster.createTopic("split-hours", partitions: 2)
        for (index, click) in Self.clicks.enumerated() {
            try cluster.produce("split-clicks", key: Array("k\(index)".utf8), value: Array(click.user.utf8), timestamp: click.time)
        }
        // Where the hourly totals' key goes (the simulated producers place keys as the
        // application's do): partition p of every topic goes to the same instance, so the
        // minute task of the other partition runs on the instance without the hours. It
        // counts some users' minutes.
        cluster.createTopic("split-probe", partitions: 2)
        let hourPartition = try cluster.produce("split-probe", key: Array(Self.allUsers.utf8), value: nil).partition
        let userPartitions = try Self.clickUsers.map { try cluster.produce("split-probe", key: Array($0.utf8), value: nil).partition }
        try #require(userPartitions.contains(1 - hourPartition), "no user's minutes are counted away from the hours")
        let topology = { try Self.minutesIntoHours(input: "split-clicks", output: "split-hours", slowPartition: slowFinish ? 1 - hourPartition : nil) }
        var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: "simulated")
        configuration.processingGuarantee = guarantee
        configuration.commitInterval = .milliseconds(100)
        if let transactionTimeout { configuration.transactionTimeout = transactionTimeout }
        configuration.boundedRun = BoundedRun(progressInterval: .seconds(5), closesWindowsAtEnd: true)
        let directories = (0..<2).map { _ in
            FileManager.default.temporaryDirectory.appendingPathComponent("split-finish-\(UInt64.random(in: 0...UInt64.max))").path
        }
        defer { for directory in directories { try? FileManager.default.removeItem(atPath: directory) } }
        let apps = try directories.map { directory in
            var own = configuration
            own.stateDirectory = directory
            own.clients = cluster.makeInstance().clients
            let app = try StreamsApp(topology: try topology(), configuration: own, logger: streamsTestLogger)
            // Paused until both hold their tasks: one instance alone would take them all.
            app.pause()
            return app
        }
        async let first: Void = BoundedRunRuntimeTests.runToEnd(apps[0])
        async let second: Void = BoundedRunRuntimeTests.runToEnd(apps[1])
        let split = try await waitUntil(timeout: .seconds(30)) {
            apps.allSatisfy { app in
                let threads = app.metadataForLocalThreads()
                return !threads.isEmpty && threads.allSatisfy { $0.state == .running && $0.activeTasks.count == 3 }
            }
        }
        #expect(split, "\(apps.map { $0.metadataForLocalThreads() })")
        for app in apps { app.resume() }
        try await first
        try await second

        return cluster.records("split-hours", isolation: .readCommitted).map {
            BoundedRunFinishRuntimeTests.describe(key: $0.key, value: $0.value, timestamp: $0.timestamp)
        }.sorted()
    }

    static let allUsers = "all users"

    /// Passes records on; in the task of partition `slowPartition`, the first record sent
    /// while the input finishes (a final result: there is no current record) waits a
    /// second and a half first (a slow instance).
    final class SlowFinish<Key, Value>: Processor {
        typealias InputKey = Key
        typealias InputValue = Value
        typealias OutputKey = Key
        typealias OutputValue = Value

        let context: ProcessorContext<Key, Value>
        let slowPartition: Int32?
        var waited = false

        init(context: ProcessorContext<Key, Value>, slowPartition: Int32?) {
            self.context = context
            self.slowPartition = slowPartition
        }

        func process(_ record: Record<Key, Value>) throws {
            if !waited, context.recordContext == nil, context.taskID.partition == slowPartition {
                waited = true
                Thread.sleep(forTimeInterval: 1.5)
            }
            try context.forward(record)
        }
    }

    static func minutesIntoHours(input: String, output: String, slowPartition: Int32? = nil) throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .groupBy(key: .string) { _, user in user }
            .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(86_400)))
            .count(materialized: .as("minutes"), emit: .onWindowClose)
            .toStream()
            .process(named: "slow-finish") { SlowFinish(context: $0, slowPartition: slowPartition) }
            .filter { _, count in count != nil }
            // All users' minutes into one hourly total: a minute task's results go to the
            // other instance's hour task as much as to its own.
            .map { _, count in (allUsers, count!) }
            .groupByKey(key: .string, value: .int64)
            .windowedBy(.tumbling(size: .seconds(3_600), grace: .seconds(86_400)))
            .reduce(materialized: .as("hours"), emit: .onWindowClose) { $0 + $1 }
            .toStream()
            .to(output, key: .timeWindowed(.string, windowSize: .seconds(3_600)), value: .optional(.int64))
        return try builder.build()
    }

    static let clickUsers = ["ann", "gus", "kim"]

    /// Clicks of three users over three hours from 10:00 on the first day of 1970.
    static let clicks: [(user: String, time: Int64)] = (0..<240).map { index in
        (clickUsers[index % 3], 36_000_000 + Int64(index) * 45_000 + Int64(index % 4) * 1_000)
    }

    /// Every hour's final sum, once, as the test driver gives it for the same input.
    static func expected() throws -> [String] {
        try BoundedRunFinishRuntimeTests.driverHours(try minutesIntoHours(input: "clicks", output: "hours"), clicks: clicks)
    }
}
