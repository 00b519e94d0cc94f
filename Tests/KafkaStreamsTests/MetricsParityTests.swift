import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import Synchronization
import Testing

@testable import KafkaStreams

/// The metrics added for parity with Kafka Streams' thread, task and store metrics, each
/// checked against what the test did: record cache hits and misses, punctuation
/// latencies, tasks created and closed, and the records a restore has left.
@Suite struct MetricsParityTests {
    /// Reads through a cached store: a read of a key the cache holds is a hit, of one it
    /// does not (never written, or written below by a flush) a miss; both the reads of
    /// read-modify-writes (the stream thread's, published in batches) and plain reads.
    @Test func aCachedStoreCountsItsHitsAndMisses() throws {
        let metrics = TestMetrics()
        let directory = StateStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let context = TaskContext(
            id: TaskID(subtopology: 0, partition: 0), applicationID: "cache-hits", logger: Logger(label: "test"), clock: .system,
            collector: PartitionGroupTests.DiscardingCollector(), defaultSerdes: DefaultSerdes(), recordCache: RecordCache(maxBytes: 1 << 20))
        let builder: KeyValueStoreBuilder<String, Int64> = .persistent("counts", key: .string, value: .int64)
        let instance = try builder.withCachingEnabled().definition().make(StoreCreation(task: context, directory: directory, resources: nil))
        let stores = TaskStores(instances: [instance], lock: nil)
        defer { stores.close() }
        let store = try #require(instance.typed as? TypedKeyValueStore<String, Int64>)

        // Read-modify-writes: a misses, a hits, b misses, a hits twice.
        for key in ["a", "a", "b", "a", "a"] {
            let prepared = try #require(try store.readForUpdate(key))
            try store.write(prepared, (prepared.value ?? 0) + 1, timestamp: 1, headers: [])
        }
        // The flush writes a and b below and publishes the batched counts.
        try stores.flushCaches()
        #expect(metrics.total("kafka_streams_record_cache_hits_total", application: "cache-hits") == 3)
        #expect(metrics.total("kafka_streams_record_cache_misses_total", application: "cache-hits") == 2)

        // Plain reads, counted at once: a is below now (a miss), c is nowhere (a miss), and
        // b after a new write is held again (three hits).
        #expect(try store.get("a") == 4)
        #expect(try store.get("c") == nil)
        try store.put("b", 7)
        for _ in 0..<3 { #expect(try store.get("b") == 7) }
        #expect(metrics.total("kafka_streams_record_cache_hits_total", application: "cache-hits") == 6)
        #expect(metrics.total("kafka_streams_record_cache_misses_total", application: "cache-hits") == 4)
    }

    /// Counts its stream-time punctuations, so the test knows how many the timer must have.
    final class PunctuationCounter: Processor {
        typealias InputKey = String
        typealias InputValue = String
        typealias OutputKey = String
        typealias OutputValue = String

        static let fired = Atomic<Int64>(0)

        init(context: ProcessorContext<String, String>) {
            context.schedule(every: .milliseconds(10), type: .streamTime) { _ in Self.fired.add(1, ordering: .relaxed) }
        }

        func process(_ record: Record<String, String>) throws {}
    }

    /// A bounded run on the simulated cluster counts words and punctuates; a second one on
    /// an empty state directory restores the counts. Every punctuation was timed, every task
    /// created was closed, and each store's remaining-records gauge started at its
    /// changelog partition's length and ended at 0.
    @Test func punctuationsTasksAndRestoresAreMeasured() async throws {
        let metrics = TestMetrics()
        let cluster = SimulatedCluster(seed: 7)
        cluster.createTopic("metric-words", partitions: 2)
        for index in 0..<200 {
            try cluster.produce("metric-words", key: Array("w\(index % 13)".utf8), value: Array("v".utf8), timestamp: 1_000 + Int64(index) * 3)
        }
        let builder = StreamsBuilder()
        let words = builder.stream("metric-words", key: .string, value: .string)
        _ = words.process { PunctuationCounter(context: $0) }
        words.groupByKey().count(materialized: .as("metric-counts"))
        let topology = try builder.build()

        var configuration = StreamsConfiguration(applicationID: "metric-parity", bootstrapServers: "simulated")
        configuration.boundedRun = BoundedRun(progressInterval: .seconds(5))
        configuration.commitInterval = .milliseconds(100)
        let application = "metric-parity"
        for run in 1...2 {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metric-parity-\(UInt64.random(in: 0...UInt64.max))").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            configuration.stateDirectory = directory
            configuration.clients = cluster.makeInstance().clients
            let app = try StreamsApp(topology: topology, configuration: configuration, logger: streamsTestLogger)
            try await app.run()
            // One sub-topology over two partitions: two tasks a run, each closed at its end.
            #expect(metrics.total("kafka_streams_tasks_created_total", application: application) == 2 * Int64(run))
            #expect(metrics.total("kafka_streams_tasks_closed_total", application: application) == 2 * Int64(run))
        }
        let fired = PunctuationCounter.fired.load(ordering: .relaxed)
        #expect(fired > 10)
        #expect(metrics.timings("kafka_streams_punctuate_latency", application: application) == fired)

        // The second run restored each task's store from its changelog partition, whole.
        var changelogRecords: [String: Double] = [:]
        for record in cluster.records("metric-parity-metric-counts-changelog") { changelogRecords["0_\(record.partition)", default: 0] += 1 }
        #expect(changelogRecords.count == 2)
        #expect(metrics.gaugeMaxima("kafka_streams_restore_remaining_records", application: application, by: "task") == changelogRecords)
        #expect(metrics.gauges("kafka_streams_restore_remaining_records", application: application, by: "task") == ["0_0": 0, "0_1": 0])
    }
}
