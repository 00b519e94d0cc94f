import KafkaStreams
import Testing

/// Window arithmetic and windowed keys on the wire, against Kafka Streams' own results.
@Suite struct WindowsTests {
    func starts(_ windows: TimeWindows, _ timestamp: Int64) -> [Int64] { Array(windows.windowStarts(containing: timestamp)) }

    @Test func aTumblingWindowHoldsEachRecordOnceWithAnExclusiveEnd() {
        let windows = TimeWindows.tumbling(size: .milliseconds(12), grace: .zero)
        #expect(windows.isTumbling)
        #expect(starts(windows, 0) == [0])
        #expect(starts(windows, 11) == [0])
        #expect(starts(windows, 12) == [12])
        #expect(starts(windows, 21) == [12])
        #expect(windows.window(startingAt: 12) == Window(start: 12, end: 24))
    }

    @Test func hoppingWindowsAreEveryAlignedWindowContainingTheRecord() {
        // Kafka Streams' TimeWindowsTest: size 12, advance 5.
        let windows = TimeWindows.hopping(size: .milliseconds(12), advance: .milliseconds(5), grace: .milliseconds(3))
        #expect(starts(windows, 21) == [10, 15, 20])
        #expect(starts(windows, 20) == [10, 15, 20])
        #expect(starts(windows, 9) == [0, 5])
        // No window starts before the epoch.
        #expect(starts(windows, 0) == [0])
        #expect(starts(windows, 4) == [0])
        #expect(windows.minimumRetention == 15)
    }

    @Test func invalidWindowsSayWhy() {
        #expect(TimeWindows.tumbling(size: .zero, grace: .zero).problem?.contains("size must be positive") == true)
        #expect(TimeWindows.hopping(size: .seconds(1), advance: .seconds(2), grace: .zero).problem?.contains("advance") == true)
        #expect(TimeWindows.tumbling(size: .seconds(1), grace: .milliseconds(-1)).problem?.contains("grace") == true)
        #expect(SlidingWindows.sliding(difference: .zero, grace: .zero).problem != nil)
        #expect(SessionWindows.session(gap: .zero, grace: .zero).problem != nil)
        #expect(TimeWindows.hopping(size: .seconds(60), advance: .seconds(10), grace: .seconds(5)).problem == nil)
        #expect(SlidingWindows.sliding(difference: .seconds(10), grace: .seconds(2)).minimumRetention == 22_000)
        #expect(SessionWindows.session(gap: .seconds(30), grace: .seconds(5)).minimumRetention == 35_000)
    }

    @Test func timeWindowedKeysUseKafkasLayout() throws {
        let serde = AnySerde<Windowed<String>>.timeWindowed(.string, windowSize: .milliseconds(100))
        let key = Windowed(key: "ab", window: Window(start: 0x0102, end: 0x0102 + 100))
        let bytes = try #require(try serde.serialize(key))
        #expect(bytes == [0x61, 0x62, 0, 0, 0, 0, 0, 0, 0x01, 0x02])
        #expect(try serde.deserialize(bytes) == key)
        #expect(key.description == "[ab@258/358]")
        #expect(throws: SerdeError.self) { try serde.deserialize([0x61] as [UInt8]) }
    }

    @Test func sessionWindowedKeysUseKafkasLayout() throws {
        let serde = AnySerde<Windowed<String>>.sessionWindowed(.string)
        let key = Windowed(key: "k", window: Window(start: 5, end: 10))
        let bytes = try #require(try serde.serialize(key))
        #expect(bytes == [0x6B, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 5])
        #expect(try serde.deserialize(bytes) == key)
    }

    @Test func aNullInnerKeyHasNoWindowedForm() {
        let serde = AnySerde<Windowed<String?>>.timeWindowed(.optional(.string), windowSize: .seconds(1))
        #expect(throws: WindowedSerdeError.self) { _ = try serde.serialize(Windowed(key: nil, window: Window(start: 0, end: 1000))) }
    }
}

/// How a windowed topology describes itself: Kafka Streams' text, and stores that say
/// what they hold.
@Suite struct WindowedDescriptionTests {
    @Test func describeAndMermaidShowTheWindowedNodesAndTheirStores() throws {
        let builder = StreamsBuilder()
        let grouped = builder.stream("clicks", key: .string, value: .string).groupByKey()
        grouped.windowedBy(.tumbling(size: .seconds(60), grace: .seconds(10)))
            .count(named: "clicks-per-minute", materialized: .as("per-minute"), retention: .seconds(600))
        grouped.windowedBy(.session(gap: .seconds(30), grace: .zero)).count(named: "sessions", materialized: .as("sessions", kind: .inMemory))
        grouped.count(named: "totals", materialized: .as("totals"))
        let description = try builder.build().describe()

        #expect(description.description.contains("""
                Processor: clicks-per-minute (stores: [per-minute])
                  --> none
                  <-- KSTREAM-SOURCE-0000000000
            """))
        #expect(description.description.contains("Processor: sessions (stores: [sessions])"))
        let stores = description.stores
        #expect(stores.map(\.name) == ["per-minute", "sessions", "totals"])
        #expect(stores.map(\.kind) == [.window(sizeMs: 60_000, retentionMs: 600_000), .session(retentionMs: 30_000), .keyValue])
        #expect(stores.map(\.persistent) == [true, false, true])
        #expect(stores.map(\.changelog) == ["per-minute-changelog", "sessions-changelog", "totals-changelog"])
        #expect(stores.map(\.summary) == [
            "window store, RocksDB: 1 min windows kept 10 min", "session store, in memory: sessions kept 30 s", "key-value store, RocksDB",
        ])

        let mermaid = description.mermaid
        #expect(mermaid.contains("    store_per_minute[(\"per-minute<br/>window store, RocksDB: 1 min windows kept 10 min\")]\n"))
        #expect(mermaid.contains("    clicks_per_minute -.- store_per_minute\n"))
        #expect(mermaid.contains("    sessions -.- store_sessions\n"))
        #expect(mermaid.contains("    totals -.- store_totals\n"))
    }
}
