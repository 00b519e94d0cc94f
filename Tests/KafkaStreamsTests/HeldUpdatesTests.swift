import Foundation
import Logging
import Testing

@testable import KafkaStreams

/// Windowed aggregations hold their latest updates above the record cache (a hopping
/// count's windows, a session count's latest sessions) and make the cache's writes only
/// when the updates leave it. What users see must not change: the same input, with the
/// same commits, gives the same outputs (keys, values, times, headers, in order) and the
/// same query answers as the same aggregations writing every update through the cache.
///
/// Commits come at random points, not after every record, so the cache coalesces updates
/// between them; a small budget evicts; records out of order take the paths that read
/// the store; retention drops segments while updates are held.
@Suite struct HeldUpdatesTests {
    @Test(arguments: [StoreKind.persistent, .inMemory])
    func heldUpdatesChangeNoOutputAndNoQueryAnswer(kind: StoreKind) throws {
        let held = try Self.run(kind: kind, budget: 10 << 20, holdingUpdates: true)
        let throughCache = try Self.run(kind: kind, budget: 10 << 20, holdingUpdates: false)
        #expect(held.sessionOutputs.count > 1_000 && held.hoppingOutputs.count > 1_000, "the run sends results")
        #expect(held.sessionOutputs.contains { $0.hasPrefix("-") }, "merged sessions are deleted downstream")
        #expect(held.queries.count > 100)
        Self.expectSame(held.sessionOutputs, throughCache.sessionOutputs, "session outputs")
        Self.expectSame(held.hoppingOutputs, throughCache.hoppingOutputs, "hopping outputs")
        Self.expectSame(held.queries, throughCache.queries, "query answers")
    }

    /// With a small budget the caches evict, at points that depend on what each write is
    /// charged (held updates are charged what their entries cost, not the same bytes), so
    /// the updates coalesced between them differ; each window's and session's last result
    /// does not, nor what queries read.
    @Test(arguments: [StoreKind.persistent, .inMemory])
    func heldUpdatesEvictedFromASmallBudgetEndInTheSameResults(kind: StoreKind) throws {
        let held = try Self.run(kind: kind, budget: 3_000, holdingUpdates: true)
        let throughCache = try Self.run(kind: kind, budget: 3_000, holdingUpdates: false)
        #expect(held.sessionOutputs.count > 1_000 && held.hoppingOutputs.count > 1_000, "the run sends results")
        #expect(held.sessionOutputs != throughCache.sessionOutputs, "the budget is small enough to evict at different points")
        Self.expectSame(Self.lastResults(held.sessionOutputs), Self.lastResults(throughCache.sessionOutputs), "sessions' last results")
        Self.expectSame(Self.lastResults(held.hoppingOutputs), Self.lastResults(throughCache.hoppingOutputs), "windows' last results")
        Self.expectSame(held.queries, throughCache.queries, "query answers")
    }

    /// A session of one time, stored, then joined by a record of the same time (which
    /// rewrites it in place) and grown by another before a commit: the stored session is
    /// deleted, downstream and in the store, whichever way the updates go.
    @Test(arguments: [true, false])
    func aSessionRewrittenInPlaceIsDeletedWhenItGrows(holdingUpdates: Bool) throws {
        let builder = StreamsBuilder()
        Self.sessionCount(builder.stream("events", key: .string, value: .string).groupByKey())
        let directory = Self.temporaryDirectory("held-rewrite")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runner = try Self.runner(builder, directory: directory, holdingUpdates: holdingUpdates)
        defer { runner.close() }
        for (index, time) in [Int64(100), 100, 101].enumerated() {
            try runner.pipe(topic: "events", record: Self.event("k", time: time, number: index))
            if index == 0 { try runner.commit() }
        }
        let sessions = try #require(runner.store(named: "sessions") as? TypedSessionStore<String, Int64>)
        #expect((sessions.heldCharge > 0) == holdingUpdates, "the grown session is held, and charged to the budget")
        try runner.commit()
        #expect(sessions.heldCharge == 0 && sessions.latestSessions.values.allSatisfy { $0.held == nil }, "the commit takes every held change")
        #expect(try Self.outputs(runner.drain("session-counts"), key: .sessionWindowed(.string)) == [
            "1 [k@100/100] t100 [\"n=0\"]", "- [k@100/100] t100 [\"n=2\"]", "3 [k@100/101] t101 [\"n=2\"]",
        ])
        #expect(try sessions.sessions(of: "k").map { "\($0.window)=\($0.value)" } == ["100/101=3"])
    }

    /// A task closed without a commit (an exactly-once abort, a crash) drops the held
    /// changes with the cache's writes, releases their budget, and forgets the latest
    /// sessions they made: its input is read again.
    @Test func closingWithoutACommitDropsTheHeldSessions() throws {
        let builder = StreamsBuilder()
        Self.sessionCount(builder.stream("events", key: .string, value: .string).groupByKey())
        let directory = Self.temporaryDirectory("held-close")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runner = try Self.runner(builder, directory: directory, holdingUpdates: true)
        for (index, time) in [Int64(100), 200, 300].enumerated() { try runner.pipe(topic: "events", record: Self.event("k", time: time, number: index)) }
        let sessions = try #require(runner.store(named: "sessions") as? TypedSessionStore<String, Int64>)
        #expect(sessions.heldCharge > 0 && sessions.latestSessions.count == 1)
        runner.close()
        #expect(sessions.heldCharge == 0 && sessions.heldKeys.isEmpty && sessions.latestSessions.isEmpty)
        #expect(throws: StoreUnavailableError.self) { try sessions.sessions(of: "k") }
    }

    /// Checks two lists are equal, naming the first difference (whole lists say little).
    static func expectSame(_ held: [String], _ throughCache: [String], _ what: String) {
        #expect(held.count == throughCache.count, "\(what): as many")
        guard let index = zip(held, throughCache).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else { return }
        Issue.record("\(what) differ first at \(index): \(held[index]) held, \(throughCache[index]) through the cache")
    }

    /// Each window's or session's last result (`value key`), in key order, but for those
    /// deleted last (a session merged into another: whether it was sent before is what
    /// eviction changes).
    static func lastResults(_ outputs: [String]) -> [String] {
        var last: [String: String] = [:]
        for output in outputs {
            let fields = output.split(separator: " ")
            last[String(fields[1])] = String(fields[0])
        }
        return last.filter { $0.value != "-" }.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
    }

    struct Outcome {
        var sessionOutputs: [String] = []
        var hoppingOutputs: [String] = []
        var queries: [String] = []
    }

    static func run(kind: StoreKind, budget: Int, holdingUpdates: Bool) throws -> Outcome {
        let builder = StreamsBuilder()
        let grouped = builder.stream("events", key: .string, value: .string).groupByKey()
        sessionCount(grouped, kind: kind)
        grouped.windowedBy(.hopping(size: .seconds(20), advance: .seconds(5), grace: .seconds(2)))
            .count(materialized: .as("hopping", kind: kind))
            .toStream()
            .to("hopping-counts", key: .timeWindowed(.string, windowSize: .seconds(20)), value: .optional(.int64))
        let directory = temporaryDirectory("held-updates")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runner = try runner(builder, directory: directory, budget: budget, holdingUpdates: holdingUpdates)
        defer { runner.close() }
        let sessions = try #require(runner.store(named: "sessions") as? TypedSessionStore<String, Int64>)
        let hopping = try #require(runner.store(named: "hopping") as? TypedWindowStore<String, Int64>)
        #expect(sessions.holdsUpdates == holdingUpdates && (hopping.held != nil) == holdingUpdates)

        var outcome = Outcome()
        var random = SplitMix(seed: 0x5EED_0F_4E1D)
        let keys = ["a", "b", "c", "d", "e", "f"]
        for index in 0..<4_000 {
            let key = keys[Int(random.next() % UInt64(keys.count))]
            // About a second of event time per record, up to 9 s out of order: sessions
            // (gap 5 s) merge, close and are joined before their start; some records are late.
            let time = max(0, Int64(index) * 1_000 - Int64(random.next() % 10) * 1_000 + Int64(random.next() % 1_000))
            try runner.pipe(topic: "events", record: event(key, time: time, number: index))
            if random.next() % 13 == 0 { try runner.commit() }
            if random.next() % 7 == 0 {
                let asked = keys[Int(random.next() % UInt64(keys.count))]
                let found = try sessions.findSessions(asked, earliestEnd: 0, latestStart: .max).map { "\($0.window)=\($0.value)" }
                let windows = try hopping.fetch(asked, from: 0, through: .max).map { "\($0.window)=\($0.value)@\($0.timestamp)" }
                let all = try hopping.windows(from: max(0, time - 60_000), through: .max).count
                outcome.queries.append("\(index) \(asked): \(found) \(windows) \(all)")
            }
        }
        try runner.commit()
        outcome.sessionOutputs = try Self.outputs(runner.drain("session-counts"), key: .sessionWindowed(.string))
        outcome.hoppingOutputs = try Self.outputs(runner.drain("hopping-counts"), key: .timeWindowed(.string, windowSize: .seconds(20)))
        return outcome
    }

    /// A count per session (gap 5 s, grace 2 s) of `grouped`, in store "sessions", sent to
    /// "session-counts".
    static func sessionCount(_ grouped: KGroupedStream<String, String>, kind: StoreKind = .persistent) {
        grouped.windowedBy(.session(gap: .seconds(5), grace: .seconds(2)))
            .count(materialized: .as("sessions", kind: kind))
            .toStream()
            .to("session-counts", key: .sessionWindowed(.string), value: .optional(.int64))
    }

    /// A runner of `builder`'s topology in `directory` that commits only when told, so
    /// the caches coalesce updates between commits.
    static func runner(_ builder: StreamsBuilder, directory: String, budget: Int = 10 << 20, holdingUpdates: Bool) throws -> InMemoryTopologyRunner {
        let runner = try InMemoryTopologyRunner(
            topology: try builder.build(), applicationID: "held", handlers: ErrorHandlers(), defaultKeySerde: nil, defaultValueSerde: nil,
            wallClockStart: 0, stateDirectory: directory, recordCacheBytes: budget, holdsUpdatesAboveCache: holdingUpdates,
            logger: Logger(label: "held-updates-test"))
        runner.commitsAfterEveryRecord = false
        return runner
    }

    static func temporaryDirectory(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UInt64.random(in: 0...UInt64.max))").path
    }

    /// An event of `key` at `time`, its number in a header (so an output names the record
    /// whose context it carries).
    static func event(_ key: String, time: Int64, number: Int) -> InMemoryTopologyRunner.StoredRecord {
        .init(key: Array(key.utf8), value: Array("v".utf8), headers: [RecordHeader(key: "n", value: Array("\(number)".utf8))], timestamp: time)
    }

    /// Each record as `key value tTIME [headers]`, a deletion's value as `-`.
    static func outputs(_ records: [InMemoryTopologyRunner.StoredRecord], key serde: AnySerde<Windowed<String>>) throws -> [String] {
        try records.map { record in
            let key = try serde.deserialize(record.key)
            let value = try record.value.map { try AnySerde<Int64>.int64.deserialize($0) }
            let headers = record.headers.map { "\($0.key)=\(String(decoding: $0.value ?? [], as: UTF8.self))" }
            return "\(value.map(String.init) ?? "-") \(key) t\(record.timestamp) \(headers)"
        }
    }
}
