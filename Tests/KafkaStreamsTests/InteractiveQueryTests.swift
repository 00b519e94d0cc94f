import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Synchronization
import Testing

/// `StreamsApp.store(named:)` on the embedded broker, and stores that follow their tasks
/// to another instance.
@Suite struct InteractiveQueryTests {
    typealias Fixture = StateRuntimeTests.Fixture

    /// Holds the stream thread in its first restore until released, so a query can find the
    /// store restoring.
    final class GatedRestore: StateRestoreListener {
        private let state = Mutex((started: false, open: false))

        var started: Bool { state.withLock { $0.started } }

        func release() { state.withLock { $0.open = true } }

        func onRestoreStart(store: String, topic: String, partition: Int32, startOffset: Int64, endOffset: Int64) {
            state.withLock { $0.started = true }
            while !state.withLock({ $0.open }) { Thread.sleep(forTimeInterval: 0.01) }
        }

        func onBatchRestored(store: String, topic: String, partition: Int32, batchEndOffset: Int64, records: Int) {}
        func onRestoreEnd(store: String, topic: String, partition: Int32, totalRecords: Int) {}
    }

    @Test func queriesReadTheLocalStoresOrSayWhyTheyCannot() async throws {
        // In memory, so every start restores the whole changelog.
        let fixture = try Fixture("iq-local", kind: .inMemory)
        let lines = StateDriverTests.lines(120, seed: 11)
        let truth = StateDriverTests.truth(lines)
        try await fixture.produce(lines)
        try await fixture.runToCompletion()

        let gate = GatedRestore()
        let running = try fixture.start(restores: gate)
        // Whatever fails below, the stream thread must not stay held.
        defer { gate.release() }
        #expect(throws: StreamsError.self) { try running.app.store(named: "no-such-store", key: String.self, value: Int64.self) }
        let counts = try running.app.store(named: "counts", key: String.self, value: Int64.self)
        // The group has not assigned anything yet (a first join takes seconds on the mock).
        #expect(throws: StoreUnavailableError(store: "counts", reason: .notHosted)) { try counts.get("fig") }
        #expect(try await waitUntil { gate.started })
        #expect(throws: StoreUnavailableError(store: "counts", reason: .restoring)) { try counts.all() }
        gate.release()

        #expect(try await waitUntil { (try? counts.approximateCount()) == truth.count })
        let all = try counts.all()
        #expect(Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0.value) }) == truth)
        for (word, count) in truth { #expect(try counts.get(word) == count) }
        #expect(try counts.get("not-a-word") == nil)
        #expect(try counts.prefixScan("f").map(\.key).sorted() == truth.keys.filter { $0.hasPrefix("f") }.sorted())
        #expect(Set(try counts.range(from: "b", to: "d").map(\.key)) == Set(truth.keys.filter { $0 >= "b" && $0 <= "d" }))
        #expect(throws: StreamsError.self) { try running.app.store(named: "counts", key: String.self, value: String.self).get("fig") }

        try await running.stop().get()
        #expect(throws: StoreUnavailableError(store: "counts", reason: .notHosted)) { try counts.get("fig") }
    }

    @Test func aTaskMovedToAnotherInstanceRestoresThere() async throws {
        let fixture = try Fixture("iq-moved")
        let first = StateDriverTests.lines(150, seed: 12)
        try await fixture.produce(first)
        let one = try fixture.start()
        // Everything committed, the repartition topic included: at-least-once repeats what
        // a rebalance finds uncommitted (the mock refuses commits during an eager rejoin),
        // and this test counts exactly.
        // The input first: once it is committed, the repartition topic holds all it will.
        let topics = one.app.sourceTopics.sorted { !$0.hasSuffix("-repartition") && $1.hasSuffix("-repartition") }
        func waitUntilAllCommitted() async throws {
            for topic in topics {
                // The runtime creates the repartition topic as it starts.
                var found: [Int32: Int64]?
                for _ in 0..<100 where found == nil {
                    found = try? await fixture.kafka.endOffsets(topic)
                    if found == nil { try await Task.sleep(for: .milliseconds(100)) }
                }
                let ends = try #require(found, "\(topic) never appeared").filter { $0.value > 0 }
                #expect(try await fixture.kafka.waitForCommits(group: fixture.applicationID, topic: topic, expected: ends) == ends, "\(topic)")
            }
        }
        try await waitUntilAllCommitted()

        // A second instance on another host (its own, empty state directory) joins; the
        // group gives it some of the partitions, whose stores it must rebuild.
        let otherHost = fixture.kafka.stateDirectory + "-other-host"
        defer { try? FileManager.default.removeItem(atPath: otherHost) }
        let restores = StateRuntimeTests.RestoreRecorder()
        let two = try fixture.start(restores: restores, stateDirectory: otherHost)
        // Six tasks: the sub-topologies before and after the repartition, three partitions each.
        #expect(try await waitUntil(timeout: .seconds(60)) {
            let (mine, theirs) = (one.app.activeTasks, two.app.activeTasks)
            return !theirs.isEmpty && mine.isDisjoint(with: theirs) && mine.union(theirs).count == 6
        })
        // The counting tasks (sub-topology 1) the second instance took over.
        let moved = Set(two.app.activeTasks.filter { $0.subtopology == 1 }.map(\.partition))
        #expect(!moved.isEmpty)
        #expect(Set(restores.totals.keys) == moved)
        let changelogEnds = try await fixture.kafka.endOffsets(fixture.changelog)
        for partition in moved {
            #expect(Int64(restores.totals[partition] ?? 0) == changelogEnds[partition] ?? 0, "partition \(partition)")
        }

        let second = StateDriverTests.lines(80, seed: 13)
        try await fixture.produce(second)
        let truth = StateDriverTests.truth(first + second)
        try await waitUntilAllCommitted()
        // Both hosts together hold every word, each word once, with its full count.
        var queried: [String: Int64] = [:]
        for app in [one.app, two.app] {
            for entry in try app.store(named: "counts", key: String.self, value: Int64.self).all() {
                #expect(queried.updateValue(entry.value, forKey: entry.key) == nil, "\(entry.key) on both hosts")
            }
        }
        #expect(queried == truth)
        try await one.stop().get()
        try await two.stop().get()
        #expect(try await fixture.outputCounts() == truth)
    }
}
