import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Stores, aggregations and tables through the test driver (no broker).
@Suite struct StateDriverTests {
    static func wordCount(kind: StoreKind = .persistent, caching: Bool = true) throws -> Topology {
        let builder = StreamsBuilder()
        var materialized = Materialized.as("counts", kind: kind)
        materialized.cachingEnabled = caching
        builder.stream("lines", key: .optional(.string), value: .string)
            .flatMapValues { line in line.lowercased().split(separator: " ").map(String.init) }
            .groupBy(key: .string) { _, word in word }
            .count(materialized: materialized)
            .toStream()
            .to("word-counts", key: .string, value: .optional(.int64))
        return try builder.build()
    }

    static let vocabulary = ["apple", "banana", "cherry", "date", "elder", "fig", "grape"]

    static func lines(_ count: Int, seed: UInt64) -> [String] {
        var state = seed
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33)
        }
        return (0..<count).map { _ in (0..<(1 + next() % 8)).map { _ in vocabulary[next() % vocabulary.count] }.joined(separator: " ") }
    }

    static func truth(_ lines: [String]) -> [String: Int64] {
        lines.flatMap { $0.split(separator: " ").map(String.init) }.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    @Test(arguments: [StoreKind.persistent, .inMemory])
    func wordCountEqualsADirectCount(kind: StoreKind) throws {
        let driver = try TopologyTestDriver(Self.wordCount(kind: kind))
        defer { driver.close() }
        let input = driver.createInputTopic("lines", key: .optional(.string), value: .string)
        let output = driver.createOutputTopic("word-counts", key: .string, value: .optional(.int64))
        let lines = Self.lines(300, seed: 7)
        for line in lines { try input.pipeInput(key: nil, value: line) }

        let store = try driver.keyValueStore(named: "counts", key: String.self, value: Int64.self)
        let stored = Dictionary(uniqueKeysWithValues: try store.all().map { ($0.key, $0.value) })
        #expect(stored == Self.truth(lines))
        // The table's updates end with each word's final count.
        var latest: [String: Int64] = [:]
        for record in try output.readRecordsToList() { latest[record.key] = record.value ?? nil }
        #expect(latest == Self.truth(lines))
    }

    /// The driver commits after every input record, so a cache coalesces the updates one
    /// record makes; without a cache every update is sent.
    @Test(arguments: [(true, ["fig=2", "date=1"]), (false, ["fig=1", "fig=2", "date=1"])])
    func storeWritesGoToTheChangelogAndDownstream(caching: Bool, expected: [String]) throws {
        let driver = try TopologyTestDriver(Self.wordCount(caching: caching), applicationID: "wc")
        defer { driver.close() }
        let input = driver.createInputTopic("lines", key: .optional(.string), value: .string)
        try input.pipeInput(key: nil, value: "fig fig date")
        let changelog = driver.createOutputTopic("wc-counts-changelog", key: .string, value: .int64)
        #expect(try changelog.readKeyValuesToList().map { "\($0.key)=\($0.value)" } == expected)
        let output = driver.createOutputTopic("word-counts", key: .string, value: .optional(.int64))
        #expect(try output.readKeyValuesToList().map { "\($0.key)=\($0.value ?? -1)" } == expected)
    }

    @Test(arguments: [StoreKind.persistent, .inMemory])
    func keyValueStoreOperations(kind: StoreKind) throws {
        var topology = Topology()
        try topology.addSource("in", topics: ["in"], key: StringSerde(), value: StringSerde())
        try topology.addStateStore(KeyValueStoreBuilder<String, String>(name: "kv", kind: kind, keySerde: StringSerde(), valueSerde: StringSerde()))
        try topology.addProcessor("put", parents: ["in"], stores: ["kv"]) { (context: ProcessorContext<String, String>) in
            try Putter(store: context.store(named: "kv"))
        }
        let driver = try TopologyTestDriver(topology)
        defer { driver.close() }
        let input = driver.createInputTopic("in", key: StringSerde(), value: StringSerde())
        for key in ["b", "a", "user-2", "c", "user-1", "d"] { try input.pipeInput(key: key, value: key.uppercased()) }
        try input.pipeInput(key: "c", value: "")  // an empty value deletes, in Putter

        let store = try driver.keyValueStore(named: "kv", key: String.self, value: String.self)
        #expect(try store.get("a") == "A")
        #expect(try store.get("c") == nil)
        #expect(try store.range(from: "a", to: "d").map(\.key) == ["a", "b", "d"])
        #expect(try store.range(from: "b", to: nil).map(\.key) == ["b", "d", "user-1", "user-2"])
        #expect(try store.prefixScan("user-").map(\.value) == ["USER-1", "USER-2"])
        #expect(try store.putIfAbsent("a", "other") == "A")
        #expect(try store.putIfAbsent("e", "E") == nil)
        #expect(try store.delete("b") == "B")
        #expect(try store.delete("b") == nil)
        #expect(try store.all().map(\.key) == ["a", "d", "e", "user-1", "user-2"])
        #expect(try store.approximateCount() >= 0)
    }

    @Test func reduceAggregateAndTwoStoresInOneTask() throws {
        let builder = StreamsBuilder()
        let grouped = builder.stream("amounts", key: .string, value: .int64).groupByKey()
        grouped.reduce(materialized: .as("max")) { max($0, $1) }.toStream().to("maxima", value: .optional(.int64))
        grouped.aggregate(materialized: .as("sums", kind: .inMemory), value: .int64, initializer: { 0 }) { _, amount, sum in sum + amount }
            .toStream().to("sums", value: .optional(.int64))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let input = driver.createInputTopic("amounts", key: StringSerde(), value: BigEndianIntegerSerde<Int64>())
        for (key, amount) in [("a", 5), ("b", 1), ("a", 9), ("a", 2), ("b", 4)] { try input.pipeInput(key: key, value: Int64(amount)) }
        let maxima = try driver.keyValueStore(named: "max", key: String.self, value: Int64.self)
        let sums = try driver.keyValueStore(named: "sums", key: String.self, value: Int64.self)
        #expect(try maxima.all().map { "\($0.key)=\($0.value)" } == ["a=9", "b=4"])
        #expect(try sums.all().map { "\($0.key)=\($0.value)" } == ["a=16", "b=5"])
    }

    @Test func tablesDeleteOnTombstonesAndFilterSendsDeletions() throws {
        let builder = StreamsBuilder()
        builder.table("prices", key: .string, value: .int64, materialized: .as("prices-store"))
            .filter { _, price in price >= 10 }
            .mapValues(value: .string) { "$\($0)" }
            .toStream()
            .to("expensive", value: .optional(.string))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let input = driver.createInputTopic("prices", key: StringSerde(), value: OptionalSerde(BigEndianIntegerSerde<Int64>()))
        try input.pipeInput(key: "tea", value: 12)
        try input.pipeInput(key: "gum", value: 2)
        try input.pipeInput(key: "tea", value: nil)
        try input.pipeInput(key: "pie", value: 30)
        let store = try driver.keyValueStore(named: "prices-store", key: String.self, value: Int64.self)
        #expect(try store.all().map { "\($0.key)=\($0.value)" } == ["gum=2", "pie=30"])
        let output = driver.createOutputTopic("expensive", key: StringSerde(), value: OptionalSerde(StringSerde()))
        #expect(try output.readKeyValuesToList().map { "\($0.key)=\($0.value ?? "nil")" } == ["tea=$12", "gum=nil", "tea=nil", "pie=$30"])
    }

    @Test func groupByKeyAfterAKeyChangeRepartitions() throws {
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .string, value: .string)
            .selectKey { _, page in page }
            .groupByKey(key: .string)
            .count(materialized: .as("per-page"))
        let topology = try builder.build()
        #expect(topology.describe().description.contains("repartition"))
        let driver = try TopologyTestDriver(topology)
        defer { driver.close() }
        let input = driver.createInputTopic("clicks", key: StringSerde(), value: StringSerde())
        for (user, page) in [("u1", "/a"), ("u2", "/a"), ("u1", "/b")] { try input.pipeInput(key: user, value: page) }
        let store = try driver.keyValueStore(named: "per-page", key: String.self, value: Int64.self)
        #expect(try store.all().map { "\($0.key)=\($0.value)" } == ["/a=2", "/b=1"])
    }

    @Test func nullKeysAreSkippedByAggregations() throws {
        let builder = StreamsBuilder()
        builder.stream("events", key: .optional(.string), value: .string).groupByKey().count(materialized: .as("per-key"))
        let driver = try TopologyTestDriver(try builder.build())
        defer { driver.close() }
        let input = driver.createInputTopic("events", key: OptionalSerde(StringSerde()), value: StringSerde())
        try input.pipeInput(key: "a", value: "x")
        try input.pipeInput(key: nil, value: "y")
        try input.pipeInput(key: "a", value: "z")
        let store = try driver.keyValueStore(named: "per-key", key: String?.self, value: Int64.self)
        #expect(try store.all().map { "\($0.key ?? "nil")=\($0.value)" } == ["a=2"])
        #expect(driver.skippedRecordCount == 1)
    }

    @Test func storeOperationsAreCounted() throws {
        let metrics = TestMetrics()
        let driver = try TopologyTestDriver(Self.wordCount(), applicationID: "metered-word-count")
        defer { driver.close() }
        try driver.createInputTopic("lines", key: .optional(.string), value: .string).pipeInput(key: nil, value: "fig fig date")
        _ = try driver.keyValueStore(named: "counts", key: String.self, value: Int64.self).all()
        func count(_ operation: String) -> Int64 {
            metrics.total("kafka_streams_store_operations_total", application: "metered-word-count", where: ("operation", operation))
        }
        // One read and one write per word (the cache merges what goes below, not these).
        #expect(count("get") == 3)
        #expect(count("put") == 3)
        #expect(count("scan") == 1)
        #expect(count("delete") == 0)
    }

    @Test func processorsSharingAStoreShareATask() throws {
        var topology = Topology()
        try topology.addStateStore(KeyValueStoreBuilder<String, String>.inMemory("shared", key: .string, value: .string))
        for topic in ["left", "right"] {
            try topology.addSource("\(topic)-source", topics: [topic], key: StringSerde(), value: StringSerde())
            try topology.addProcessor("\(topic)-put", parents: ["\(topic)-source"], stores: ["shared"]) { (context: ProcessorContext<String, String>) in
                try Putter(store: context.store(named: "shared"))
            }
        }
        // One sub-topology reading both topics, so both processors write the same store.
        #expect(topology.describe().subtopologies.count == 1)
        let driver = try TopologyTestDriver(topology)
        defer { driver.close() }
        try driver.createInputTopic("left", key: StringSerde(), value: StringSerde()).pipeInput(key: "a", value: "from-left")
        try driver.createInputTopic("right", key: StringSerde(), value: StringSerde()).pipeInput(key: "b", value: "from-right")
        let store = try driver.keyValueStore(named: "shared", key: String.self, value: String.self)
        #expect(try store.all().map { "\($0.key)=\($0.value)" } == ["a=from-left", "b=from-right"])
    }

    @Test func aStoreOfAnotherTypeIsAClearError() throws {
        let driver = try TopologyTestDriver(Self.wordCount())
        defer { driver.close() }
        #expect(throws: TestDriverError.self) { try driver.keyValueStore(named: "counts", key: String.self, value: String.self) }
        #expect(throws: TestDriverError.self) { try driver.keyValueStore(named: "nope", key: String.self, value: Int64.self) }
    }
}

/// Puts each record into the store; an empty value deletes its key.
private final class Putter: Processor {
    let store: any KeyValueStore<String, String>
    init(store: any KeyValueStore<String, String>) { self.store = store }

    func process(_ record: Record<String, String>) throws {
        try store.put(record.key, record.value.isEmpty ? nil : record.value)
    }
}
