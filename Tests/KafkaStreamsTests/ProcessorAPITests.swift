import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Tags each value with where it came from and sends long values to a named child.
final class Router: Processor {
    let context: ProcessorContext<String, String>
    init(context: ProcessorContext<String, String>) { self.context = context }

    func process(_ record: Record<String, String>) throws {
        let tagged = record.withValue("\(record.value)@\(context.topic!)/\(context.partition!)/\(context.offset!)")
        try context.forward(tagged, to: record.value.count > 3 ? "long" : "short")
    }
}

/// Emits how many records it saw whenever a punctuation fires.
final class Counter: Processor {
    let context: ProcessorContext<String, String>
    var count = 0
    init(context: ProcessorContext<String, String>, type: PunctuationType) {
        self.context = context
        context.schedule(every: .seconds(10), type: type) { [unowned self] time in
            try self.context.forward(Record(key: "count", value: "\(self.count)@\(time)", timestamp: time))
        }
    }

    func process(_ record: Record<String, String>) throws { count += 1 }
}

final class PassThrough: Processor {
    let context: ProcessorContext<String, String>
    init(context: ProcessorContext<String, String>) { self.context = context }
    func process(_ record: Record<String, String>) throws { try context.forward(record) }
}

@Suite struct ProcessorAPITests {
    @Test func processorsSeeRecordMetadataAndForwardToNamedChildren() throws {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], key: .string, value: .string)
        try topology.addProcessor("router", parents: ["source"]) { Router(context: $0) }
        try topology.addProcessor("long", parents: ["router"]) { PassThrough(context: $0) }
        try topology.addProcessor("short", parents: ["router"]) { PassThrough(context: $0) }
        try topology.addSink("long-sink", topic: "long-out", parents: ["long"], key: .string, value: .string)
        try topology.addSink("short-sink", topic: "short-out", parents: ["short"], key: .string, value: .string)
        let driver = try TopologyTestDriver(topology)
        let input = driver.createInputTopic("in", key: .string, value: .string)
        try input.pipeKeyValues([("k", "hi"), ("k", "hello"), ("k", "yo")])
        #expect(try driver.createOutputTopic("short-out", key: .string, value: .string).readValuesToList() == ["hi@in/0/0", "yo@in/0/2"])
        #expect(try driver.createOutputTopic("long-out", key: .string, value: .string).readValuesToList() == ["hello@in/0/1"])
    }

    @Test func connectingMismatchedTypesFailsWhenAdded() throws {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], key: .string, value: .int64)
        let error = #expect(throws: StreamsError.self) {
            try topology.addProcessor("router", parents: ["source"]) { Router(context: $0) }
        }
        #expect(error?.message.contains("accepts (String, String) but its parent source forwards (String, Int64)") == true)
        #expect(throws: StreamsError.self) { try topology.addSink("sink", topic: "t", parents: ["nope"], key: .string, value: .int64) }
    }

    @Test func streamTimePunctuationsFollowRecordTimestamps() throws {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], key: .string, value: .string)
        try topology.addProcessor("counter", parents: ["source"]) { Counter(context: $0, type: .streamTime) }
        try topology.addSink("sink", topic: "out", parents: ["counter"], key: .string, value: .string)
        let driver = try TopologyTestDriver(topology)
        let input = driver.createInputTopic("in", key: .string, value: .string)
        let output = driver.createOutputTopic("out", key: .string, value: .string)
        // Due at multiples of 10 s: the first record's time is past 0.
        try input.pipeInput(key: "a", value: "1", timestamp: 1_000)
        try input.pipeInput(key: "a", value: "2", timestamp: 5_000)
        #expect(try output.readValuesToList() == ["1@1000"])
        try input.pipeInput(key: "a", value: "3", timestamp: 11_500)
        // An out-of-order record does not move stream time back.
        try input.pipeInput(key: "a", value: "4", timestamp: 2_000)
        try input.pipeInput(key: "a", value: "5", timestamp: 21_500)
        #expect(try output.readValuesToList() == ["3@11500", "5@21500"])
        // A gap of several intervals fires once; the next is due at the next multiple
        // (60 s), not 10 s after this one.
        try input.pipeInput(key: "a", value: "6", timestamp: 55_000)
        try input.pipeInput(key: "a", value: "7", timestamp: 60_000)
        #expect(try output.readValuesToList() == ["6@55000", "7@60000"])
        try driver.advanceWallClockTime(by: .seconds(60))
        #expect(output.isEmpty)
    }

    @Test func wallClockPunctuationsFollowTheDriversClock() throws {
        var topology = Topology()
        try topology.addSource("source", topics: ["in"], key: .string, value: .string)
        try topology.addProcessor("counter", parents: ["source"]) { Counter(context: $0, type: .wallClockTime) }
        try topology.addSink("sink", topic: "out", parents: ["counter"], key: .string, value: .string)
        let driver = try TopologyTestDriver(topology, wallClockStart: 100_000)
        let output = driver.createOutputTopic("out", key: .string, value: .string)
        try driver.createInputTopic("in", key: .string, value: .string).pipeInput(key: "a", value: "1", timestamp: 999_999)
        try driver.advanceWallClockTime(by: .seconds(9))
        #expect(output.isEmpty)
        try driver.advanceWallClockTime(by: .seconds(1))
        try driver.advanceWallClockTime(by: .seconds(10))
        #expect(try output.readValuesToList() == ["1@110000", "1@120000"])
        // A stall of 2.5 intervals fires once, and the schedule stays on its grid.
        try driver.advanceWallClockTime(by: .seconds(25))
        try driver.advanceWallClockTime(by: .seconds(5))
        #expect(try output.readValuesToList() == ["1@145000", "1@150000"])
    }

    @Test func describePrintsSubtopologiesAsKafkaStreamsDoes() throws {
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .optional(.string), value: .string)
            .filter(named: "drop-bots") { _, value in !value.contains("bot") }
            .selectKey(named: "by-page") { _, value in Optional(value) }
            .repartition(named: "pages")
            .mapValues(named: "shout") { $0.uppercased() }
            .to("loud-pages", named: "write-pages")
        let description = try builder.build().describe()
        #expect(description.description == """
            Topologies:
               Sub-topology: 0
                Source: KSTREAM-SOURCE-0000000000 (topics: [clicks])
                  --> drop-bots
                Processor: drop-bots (stores: [])
                  --> by-page
                  <-- KSTREAM-SOURCE-0000000000
                Processor: by-page (stores: [])
                  --> pages-repartition-sink
                  <-- drop-bots
                Sink: pages-repartition-sink (topic: pages-repartition)
                  <-- by-page

               Sub-topology: 1
                Source: pages-repartition-source (topics: [pages-repartition])
                  --> shout
                Processor: shout (stores: [])
                  --> write-pages
                  <-- pages-repartition-source
                Sink: write-pages (topic: loud-pages)
                  <-- shout


            """)
        let mermaid = description.mermaid
        #expect(mermaid.hasPrefix("flowchart TD\n"))
        #expect(mermaid.contains("subgraph sub1[\"Sub-topology 1\"]"))
        #expect(mermaid.contains("drop_bots --> by_page"))
        #expect(mermaid.contains("pages_repartition_sink --> topic_pages_repartition"))
        #expect(mermaid.contains("topic_pages_repartition --> pages_repartition_source"))
        #expect(mermaid.contains("topic_clicks([\"clicks\"]) ") || mermaid.contains("topic_clicks([\"clicks\"])\n"))
    }
}
