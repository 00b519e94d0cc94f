import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import Synchronization

/// The topology of Kafka Streams' exactly-once system test, on a simulated cluster: an
/// echo of the input, and per key the count, sum, min and max of its values, computed
/// after a repartition topic, three joins (see `CountSumMinMax+Joins.swift`) and a bounded
/// deduplication (`CountSumMinMax+Deduplicate.swift`). With the record cache off every update of an aggregate is an
/// output record, so the output is a function of the input alone; with it on, updates are
/// coalesced, and each key's outputs must be a subsequence of its updates ending with the
/// last. Either way a lost or repeated input shows as a wrong or missing record. A windowed
/// count (tumbling) and a session count, both emitted as their windows close, must emit
/// each closed window or session once, with its exact count.
///
/// Processing failures (``ProcessingFailures``) make a record throw under the `.fail`
/// handler after some of its effects happened: after the echo was sent, or after the
/// count store was written (with the cache on, while the cache is flushed at a commit).
///
/// With `mergedInputs`, the input is spread at random over two co-partitioned topics that
/// one source reads, each record stamped with its place in the input as event time: the
/// outputs are still those of the single-topic input only if every task processes its two
/// partitions' queued records in event-time order, across crashes, rewinds and pauses.
public struct CountSumMinMax: Sendable {
    public static let input = "data"
    /// The second input topic of the merged variant.
    public static let secondInput = "data-b"
    /// The merged variant's queue bound: small, so that partitions pause and resume often.
    public static let mergedQueueBound = 4
    public static let echo = "echo"
    public static let aggregates = ["count", "sum", "min", "max"]
    /// Each key's count per tumbling window, emitted once per window as it closes.
    public static let windowedCount = "windowed-count"
    /// The windowed count's windows: every record's time is its place in the input plus
    /// 1,000, so a window holds about `windowSize` consecutive inputs.
    public static let windowSize: Int64 = 20
    public static let windowGrace: Int64 = 5
    /// Each key's count per session (gap 15 ms), emitted once per session as it closes.
    public static let sessionCount = "session-count"
    public static let sessionGap: Int64 = 15
    /// A record cache budget that holds some of the keys' aggregates, not all: the caches
    /// then write through when full, between commits, as well as at commits.
    public static let smallRecordCache = 2_048

    public var keys: Int
    public var records: Int
    public var partitions: Int
    /// Whether the input is spread over two topics merged by the topology.
    public var mergedInputs: Bool

    public init(keys: Int = 10, records: Int = 300, partitions: Int = 3, mergedInputs: Bool = false) {
        self.keys = keys
        self.records = records
        self.partitions = partitions
        self.mergedInputs = mergedInputs
    }

    /// The topics the input is written to.
    public var inputTopics: [String] { mergedInputs ? [Self.input, Self.secondInput] : [Self.input] }

    /// What a run found wrong.
    public struct Outcome: Sendable, Hashable, Codable {
        /// Expected output records that are missing.
        public var lost = 0
        /// Output records beyond the expected ones.
        public var duplicated = 0
        /// Output records or store entries with a wrong value.
        public var mismatched = 0

        public var isExact: Bool { lost == 0 && duplicated == 0 && mismatched == 0 }
    }

    public static func topology(failures: ProcessingFailures? = nil, inputs: [String] = [input]) throws -> Topology {
        let builder = StreamsBuilder()
        let data = builder.stream(inputs, key: .string, value: .int64)
        data.to(echo)
        // A key change, though an identity one, sends the records through a repartition topic.
        let rekeyed = data.selectKey { key, _ in key }
            .peek { _, _ in try failures?.failByChance() }
            .repartition(named: "by-key")
        let grouped = rekeyed.groupByKey()
        let counts = grouped.count(materialized: .as("count"))
        counts.toStream()
            .peek { _, _ in try failures?.failByChance() }
            .to("count", value: .optional(.int64))
        let sums = grouped.reduce(materialized: .as("sum")) { $0 + $1 }
        sums.toStream().to("sum", value: .optional(.int64))
        grouped.reduce(materialized: .as("min")) { min($0, $1) }.toStream().to("min", value: .optional(.int64))
        grouped.reduce(materialized: .as("max")) { max($0, $1) }.toStream().to("max", value: .optional(.int64))
        grouped.windowedBy(.tumbling(size: .milliseconds(windowSize), grace: .milliseconds(windowGrace)))
            .count(materialized: .as(windowedCount), emit: .onWindowClose)
            .toStream()
            .to(windowedCount, key: .timeWindowed(.string, windowSize: .milliseconds(windowSize)), value: .optional(.int64))
        grouped.windowedBy(.session(gap: .milliseconds(sessionGap), grace: .milliseconds(windowGrace)))
            .count(materialized: .as(sessionCount), emit: .onWindowClose)
            .toStream()
            .to(sessionCount, key: .sessionWindowed(.string), value: .optional(.int64))
        addJoins(rekeyed: rekeyed, counts: counts, sums: sums)
        addDeduplication(rekeyed: rekeyed)
        addRecentCount(grouped: grouped)
        return try builder.build()
    }

    /// The input, derived from `seed`: (key, value) in the order written.
    public func input(seed: UInt64) -> [(key: String, value: Int64)] {
        var random = SeededRandom(seed: seed ^ 0xDA7A)
        return (0..<records).map { _ in
            (key: "key-\(random.next() % UInt64(keys))", value: Int64(random.next() % 2001) - 1000)
        }
    }

    /// The event time of the input record at `index`.
    static func time(ofInput index: Int) -> Int64 { 1_000 + Int64(index) }

    /// Creates the topics and writes the input, each record with its index as its time;
    /// in the merged variant, each record to one of the two input topics at random.
    public func prepare(_ cluster: SimulatedCluster, seed: UInt64) throws {
        for topic in inputTopics + [Self.echo, Self.windowedCount, Self.sessionCount] + Self.aggregates + Self.joinTopics + [Self.deduplicated, Self.recentCount] {
            cluster.createTopic(topic, partitions: partitions)
        }
        var random = SeededRandom(seed: seed ^ 0x70B1C)
        for (index, (key, value)) in input(seed: seed).enumerated() {
            let topic = inputTopics[Int(random.next() % UInt64(inputTopics.count))]
            try cluster.produce(topic, key: Array(key.utf8), value: Self.bytes(value), timestamp: Self.time(ofInput: index))
        }
    }

    /// Runs the application until all input is processed, crashing it as `cluster` says
    /// and restarting it after each injected processing failure, then compares everything
    /// `read_committed` readers see, and the stores, with a direct computation.
    ///
    /// - Parameters:
    ///   - recordCacheBytes: 0 (off), or a budget small enough that the caches also write
    ///     through when full, between commits.
    ///   - failures: the processing failures to inject, if any.
    public func run(
        on cluster: SimulatedCluster, seed: UInt64, stateDirectory: String, logger: Logger, recordCacheBytes: Int = 0,
        failures: ProcessingFailures? = nil, configure: (inout StreamsConfiguration) -> Void = { _ in }
    ) async throws -> (outcome: Outcome, report: SimulatedCluster.RunReport) {
        try prepare(cluster, seed: seed)
        var configuration = StreamsConfiguration(applicationID: "eos-test", bootstrapServers: "simulated")
        configuration.processingGuarantee = .exactlyOnce
        configuration.stateDirectory = stateDirectory
        configuration.commitInterval = .milliseconds(100)
        configuration.recordCacheBytes = recordCacheBytes
        configuration.maxPollRecords = 20
        // The stores are tiny; RocksDB preallocates each write-ahead log up to this budget,
        // which costs real memory on tmpfs at every restart.
        configuration.stateStoreWriteBufferBytes = 1 << 20
        configuration.stateStoreBlockCacheBytes = 1 << 20
        if mergedInputs { configuration.maxBufferedRecordsPerPartition = Self.mergedQueueBound }
        configure(&configuration)
        let expected = expectedAggregates(seed: seed)
        let stores = StoreSnapshot()
        let report = try await cluster.runUntilProcessed(
            { [inputTopics] in try Self.topology(failures: failures, inputs: inputTopics) }, configuration: configuration, logger: logger,
            whenProcessed: { app in
                for name in Self.aggregates {
                    let store = try app.store(named: name, key: String.self, value: Int64.self)
                    var values: [String: Int64] = [:]
                    for key in expected.keys { values[key] = try store.get(key) }
                    stores.set(name, values)
                }
            },
            restartAfter: { ProcessingFailures.isInjected($0) || SimulatedCluster.isInjectedError($0) })
        var outcome = Outcome()
        compare(expected: echoSequences(seed: seed), actual: sequences(in: Self.echo, of: cluster), into: &outcome)
        for (index, name) in Self.aggregates.enumerated() {
            let updates = expected.mapValues { $0.map { $0[index] } }
            let actual = sequences(in: name, of: cluster)
            if recordCacheBytes > 0 {
                compareCoalesced(expected: updates, actual: actual, into: &outcome)
            } else {
                compare(expected: updates, actual: actual, into: &outcome)
            }
            let stored = stores.get(name)
            for (key, updates) in expected where stored[key] != updates.last?[index] { outcome.mismatched += 1 }
        }
        compareWindowedCounts(seed: seed, actual: cluster.records(Self.windowedCount, isolation: .readCommitted), into: &outcome)
        compareSessionCounts(seed: seed, actual: cluster.records(Self.sessionCount, isolation: .readCommitted), into: &outcome)
        compareEnriched(seed: seed, actual: cluster.records(Self.enriched, isolation: .readCommitted), into: &outcome)
        comparePaired(seed: seed, actual: cluster.records(Self.paired, isolation: .readCommitted), into: &outcome)
        compareChained(seed: seed, actual: cluster.records(Self.chained, isolation: .readCommitted), into: &outcome)
        compareDeduplicated(seed: seed, actual: cluster.records(Self.deduplicated, isolation: .readCommitted), into: &outcome)
        compareRecentCounts(
            repartitioned: cluster.records("\(configuration.applicationID)-by-key-repartition", isolation: .readCommitted),
            actual: cluster.records(Self.recentCount, isolation: .readCommitted), into: &outcome)
        return (outcome, report)
    }

    /// Each final session result must be an exact session of its key (records no more than
    /// the gap apart) with its count, and come once; every session its own key's later
    /// records closed (end + gap + grace < the key's last time) must have come.
    private func compareSessionCounts(seed: UInt64, actual: [SimulatedRecord], into outcome: inout Outcome) {
        var sessions: [String: [(start: Int64, end: Int64, count: Int64)]] = [:]
        for (index, record) in input(seed: seed).enumerated() {
            let time = Self.time(ofInput: index)
            if let last = sessions[record.key]?.last, time - last.end <= Self.sessionGap {
                sessions[record.key]![sessions[record.key]!.count - 1] = (last.start, time, last.count + 1)
            } else {
                sessions[record.key, default: []].append((time, time, 1))
            }
        }
        var expected: [String: Int64] = [:]
        for (key, list) in sessions { for session in list { expected["\(key)@\(session.start)/\(session.end)"] = session.count } }
        let serde = SessionWindowedSerde(StringSerde())
        var seen: Set<String> = []
        for record in actual {
            guard let keyBytes = record.key, let windowed = try? serde.deserialize(keyBytes) else {
                outcome.mismatched += 1
                continue
            }
            let name = "\(windowed.key)@\(windowed.window.start)/\(windowed.window.end)"
            if !seen.insert(name).inserted {
                outcome.duplicated += 1
            } else if expected[name] != record.value.map(Self.int64(of:)) {
                outcome.mismatched += 1
            }
        }
        for (key, list) in sessions {
            let last = list.last?.end ?? -1
            for session in list where session.end + Self.sessionGap + Self.windowGrace < last && !seen.contains("\(key)@\(session.start)/\(session.end)") {
                outcome.lost += 1
            }
        }
    }

    /// Each final window result must be the window's exact count, and come once; every
    /// window its own key's records already closed (end + grace ≤ the key's last time; the
    /// task's stream time is at least that) must have come.
    private func compareWindowedCounts(seed: UInt64, actual: [SimulatedRecord], into outcome: inout Outcome) {
        var expected: [String: Int64] = [:]
        var lastTime: [String: Int64] = [:]
        for (index, record) in input(seed: seed).enumerated() {
            let time = Self.time(ofInput: index)
            expected["\(record.key)@\(time / Self.windowSize * Self.windowSize)", default: 0] += 1
            lastTime[record.key] = time
        }
        let serde = TimeWindowedSerde(StringSerde(), windowSize: Self.windowSize)
        var seen: Set<String> = []
        for record in actual {
            guard let keyBytes = record.key, let windowed = try? serde.deserialize(keyBytes) else {
                outcome.mismatched += 1
                continue
            }
            let name = "\(windowed.key)@\(windowed.window.start)"
            if !seen.insert(name).inserted {
                outcome.duplicated += 1
            } else if expected[name] != record.value.map(Self.int64(of:)) {
                outcome.mismatched += 1
            }
        }
        for (name, _) in expected where !seen.contains(name) {
            let key = String(name[..<name.lastIndex(of: "@")!])
            let start = Int64(name[name.index(after: name.lastIndex(of: "@")!)...])!
            if start + Self.windowSize + Self.windowGrace <= lastTime[key, default: -1] { outcome.lost += 1 }
        }
    }

    /// Per key: the values of its input records in order.
    private func echoSequences(seed: UInt64) -> [String: [Int64]] {
        input(seed: seed).reduce(into: [:]) { $0[$1.key, default: []].append($1.value) }
    }

    /// Per key: count, sum, min and max after each of its records.
    private func expectedAggregates(seed: UInt64) -> [String: [[Int64]]] {
        var result: [String: [[Int64]]] = [:]
        for (key, value) in input(seed: seed) {
            let last = result[key]?.last
            result[key, default: []].append([
                (last?[0] ?? 0) + 1, (last?[1] ?? 0) + value, min(last?[2] ?? .max, value), max(last?[3] ?? .min, value),
            ])
        }
        return result
    }

    /// Per key: the values of a topic's records, in order.
    func sequences(in topic: String, of cluster: SimulatedCluster) -> [String: [Int64]] {
        sequences(cluster.records(topic, isolation: .readCommitted))
    }

    /// Per key: the values of `records`, in order.
    func sequences(_ records: [SimulatedRecord]) -> [String: [Int64]] {
        records.reduce(into: [:]) { result, record in
            let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
            result[key, default: []].append(record.value.map(Self.int64(of:)) ?? .min)
        }
    }

    func compare(expected: [String: [Int64]], actual: [String: [Int64]], into outcome: inout Outcome) {
        for key in Set(expected.keys).union(actual.keys) {
            let want = expected[key] ?? []
            let got = actual[key] ?? []
            outcome.lost += max(0, want.count - got.count)
            outcome.duplicated += max(0, got.count - want.count)
            outcome.mismatched += zip(want, got).filter { $0 != $1 }.count
        }
    }

    /// With the record cache on, a key's outputs skip the updates a later one replaced
    /// before a flush: they must be its updates in order with some left out, ending with
    /// the last. A repeated input shows as a value out of order or beyond the updates.
    private func compareCoalesced(expected: [String: [Int64]], actual: [String: [Int64]], into outcome: inout Outcome) {
        for key in Set(expected.keys).union(actual.keys) {
            let want = expected[key] ?? []
            let got = actual[key] ?? []
            var remaining = want[...]
            let inOrder = got.allSatisfy { value in
                guard let found = remaining.firstIndex(of: value) else { return false }
                remaining = remaining[(found + 1)...]
                return true
            }
            if !inOrder {
                if got.count > want.count { outcome.duplicated += got.count - want.count } else { outcome.mismatched += 1 }
            } else if got.last != want.last {
                outcome.lost += 1
            }
        }
    }

    /// The values' serde: the topology's, so the input and the check read bytes as it does.
    static let valueSerde = BigEndianIntegerSerde<Int64>()

    static func bytes(_ value: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        try! valueSerde.serialize(value, into: &bytes)  // a fixed-width integer always encodes
        return bytes
    }

    /// A value as the topology wrote it; `.min` (never an aggregate here) when unreadable.
    static func int64(of bytes: [UInt8]) -> Int64 {
        (try? bytes.withUnsafeBytes { try valueSerde.deserialize($0) }) ?? .min
    }
}

/// The stores' final values, read on the stream thread and checked afterwards.
private final class StoreSnapshot: Sendable {
    private let values = Mutex<[String: [String: Int64]]>([:])

    func set(_ store: String, _ entries: [String: Int64]) { values.withLock { $0[store] = entries } }
    func get(_ store: String) -> [String: Int64] { values.withLock { $0[store] ?? [:] } }
}
