import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka
import SampleSupport
import Testing

/// Every Swift block of README.md and the DocC articles compiles (as
/// `DocumentationExamples.swift`, where each is copied word for word) and runs as written.
@Suite struct DocumentationExampleTests {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var documents: [URL] {
        let articles = packageRoot.appendingPathComponent("Sources/KafkaStreams/KafkaStreams.docc")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: articles.path)) ?? []
        return [packageRoot.appendingPathComponent("README.md")]
            + names.filter { $0.hasSuffix(".md") }.sorted().map { articles.appendingPathComponent($0) }
    }

    /// The fenced Swift blocks of a Markdown text, each as its lines.
    static func swiftBlocks(in markdown: String) -> [[String]] {
        var blocks: [[String]] = []
        var current: [String]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```swift" {
                current = []
            } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append(current!)
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    static func significantLines(_ lines: [String]) -> [String] {
        lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Test func everySwiftBlockOfTheDocumentationIsCopiedIntoTheCompiledExamples() throws {
        let examples = try String(
            contentsOf: Self.packageRoot.appendingPathComponent("Tests/KafkaStreamsTests/Documentation/DocumentationExamples.swift"),
            encoding: .utf8)
        let compiled = Self.significantLines(examples.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        var checked = 0
        for document in Self.documents {
            for block in Self.swiftBlocks(in: try String(contentsOf: document, encoding: .utf8)) {
                let lines = Self.significantLines(block)
                let imports = lines.filter { $0.hasPrefix("import ") }
                let code = lines.filter { !$0.hasPrefix("import ") }
                for line in imports { #expect(compiled.contains(line), "\(document.lastPathComponent): \(line)") }
                let found = code.isEmpty || (0...(compiled.count - code.count)).contains { Array(compiled[$0..<($0 + code.count)]) == code }
                #expect(found, "\(document.lastPathComponent): this block is not in DocumentationExamples.swift as written:\n\(block.joined(separator: "\n"))")
                checked += 1
            }
        }
        #expect(checked >= 7)
    }

    @Test func theReplayExampleRunsToTheEndOfItsInput() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        for topic in ["orders", "orders-per-minute.v2"] { try kafka.createTopic(topic, partitions: 2) }
        // Orders a minute apart: each closes the window before the one before it.
        try await kafka.produce((0..<5).map { minute in
            ProducerRecord(topic: "orders", key: Array("books".utf8), value: Array("order-\(minute)".utf8), timestamp: 1_700_000_000_000 + Int64(minute) * 71_000)
        })
        // The example keeps the default state directory: start and end with it empty.
        let state = "/tmp/kafka-streams/orders-per-minute-v2"
        try? FileManager.default.removeItem(atPath: state)
        defer { try? FileManager.default.removeItem(atPath: state) }
        let lag = try await replayExample(servers: kafka.bootstrapServers, logger: streamsTestLogger)
        #expect(lag.total == 0)
        #expect(lag.partitions.count == 2)
        // Every window but the last (no later order closes it) came out once.
        let counts = try await kafka.readAll("orders-per-minute.v2")
        #expect(counts.count == 4)

        // The article's replay of the same application closes its windows at the end: with
        // nothing new to process, it gives the last window, which was still open. (Its
        // reset is run in ApplicationResetTests: on the embedded broker a group whose
        // members just stopped with the default 45 s sessions cannot be joined at once.)
        #expect(try await replayV2(servers: kafka.bootstrapServers, logger: streamsTestLogger).total == 0)
        let closed = try await kafka.readAll("orders-per-minute.v2")
        #expect(closed.count == 5)
        #expect(closed.filter { $0.value == [0, 0, 0, 0, 0, 0, 0, 1] }.count == 5)
    }

    @Test func theBoundedStateExampleForgetsRepeatsAndOldCounts() throws {
        let builder = StreamsBuilder()
        boundedState(builder: builder)
        let driver = try TopologyTestDriver(try builder.build())
        let logins = driver.createInputTopic("logins", key: StringSerde(), value: StringSerde())
        let week: Int64 = 7 * 24 * 3_600_000
        // A repeat within ten minutes is dropped; after a week without a login the count
        // starts again.
        for time in [0, 60_000, 700_000, week + 700_000] { try logins.pipeInput(key: "ada", value: "login", timestamp: time) }
        let counts = try driver.keyValueStore(named: "logins-this-week", key: String.self, value: Int64.self)
        #expect(try counts.get("ada") == 1)
        try logins.pipeInput(key: "ada", value: "login", timestamp: week + 1_400_000)
        #expect(try counts.get("ada") == 2)
    }

    @Test func theFirstTopologyRunsAgainstABroker() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        for topic in ["clicks", "page-views", "button-clicks", "clicks-dlq"] { try kafka.createTopic(topic, partitions: 2) }
        let click = #"{"user":"ada","kind":"page_view","page":"/products/42","userAgent":"Mozilla/5.0 (iPhone) Mobile"}"#
        // One key, so one partition: the unreadable record comes right after the good one
        // on whichever thread reads it.
        try await kafka.produce("clicks", [(key: Array("ada".utf8), value: Array(click.utf8)), (key: Array("ada".utf8), value: Array("not json".utf8))])
        let running = Task { try await runClicks(bootstrapServers: kafka.bootstrapServers, logger: streamsTestLogger) }
        defer { running.cancel() }
        let page = #"{"mobile":true,"page":"/products/42","section":"products","user":"ada"}"#
        // The example keeps Kafka's default session timeout, so on the mock a rebalance
        // (its second thread joining late) can stall processing for 44 s.
        let pages = try await kafka.waitForValues("page-views", including: [page], timeout: .seconds(120))
        let dead = try await kafka.waitForValues("clicks-dlq", including: ["not json"], timeout: .seconds(120))
        running.cancel()
        _ = await running.result
        #expect(Set(pages.compactMap { text($0.value) }) == [page])
        #expect(Set(dead.compactMap { text($0.value) }) == ["not json"])
    }

    @Test func theWordCountCounts() throws {
        let driver = try TopologyTestDriver(try wordCountExample())
        try driver.createInputTopic("text-lines", key: .optional(.string), value: .string).pipeKeyValues([(nil, "a b a"), (nil, "B c")])
        let counts = try driver.keyValueStore(named: "word-counts", key: String.self, value: Int64.self)
        #expect(try counts.all().map { "\($0.key)=\($0.value)" } == ["a=2", "b=2", "c=1"])
    }

    @Test func theInstanceOfAKeyIsKnownOnlyWhileTheAppRuns() throws {
        let error = #expect(throws: StreamsError.self) { try instanceOfKeyExample(topology: try wordCountExample(), logger: streamsTestLogger) }
        #expect(error?.kind == .configuration)
        #expect("\(error.map { "\($0)" } ?? "")".contains("not running"))
    }

    @Test func theTimeToLiveExampleExpiresItsCounts() throws {
        var topology = Topology()
        let builder = StreamsBuilder()
        try timeToLiveExample(topology: &topology, builder: builder)
        #expect(topology.describe().stores.map(\.name) == ["last-page"])
        let driver = try TopologyTestDriver(try builder.build())
        let logins = driver.createInputTopic("logins", key: StringSerde(), value: StringSerde())
        let week: Int64 = 7 * 24 * 3_600_000
        for time in [0, 1, week + 1] { try logins.pipeInput(key: "ada", value: "login", timestamp: time) }
        let counts = try driver.keyValueStore(named: "recent-logins", key: String.self, value: Int64.self)
        // The count of times 0 and 1 expired at a week + 1: the third login counts from one.
        #expect(try counts.get("ada") == 1)
    }

    @Test func exactlyOnceStartsWithTheDefaults() throws {
        let topology = try wordCountExample()
        // Both build a StreamsApp, which validates the configuration.
        _ = try exactlyOnceExample(topology: topology, logger: streamsTestLogger)
        _ = try exactlyOnceArticleExample(topology: topology, logger: streamsTestLogger)
        var configuration = StreamsConfiguration(applicationID: "defaults", bootstrapServers: "localhost:9092")
        #expect(configuration.commitInterval == .seconds(30))
        configuration.processingGuarantee = .exactlyOnce
        #expect(configuration.commitInterval == .milliseconds(100))
        try configuration.validate()
        configuration.commitInterval = .seconds(20)
        #expect(configuration.commitInterval == .seconds(20), "a set interval is kept")
        #expect(throws: StreamsError.self) { try configuration.validate() }
    }

    @Test func thePaymentsAreMergedInEventTimeOrder() throws {
        let driver = try TopologyTestDriver(paymentsTopology(), maxTaskIdle: .seconds(1))
        let web = driver.createInputTopic("payments-web", key: .string, value: .json(Payment.self))
        let shop = driver.createInputTopic("payments-shop", key: .string, value: .json(Payment.self))
        // Written late to the broker (record time 9), paid first.
        try web.pipeInput(key: "c1", value: Payment(card: "c1", amount: 5, paidAt: 300), timestamp: 9)
        try shop.pipeInput(key: "c2", value: Payment(card: "c2", amount: 7, paidAt: 100), timestamp: 9)
        try shop.pipeInput(key: "c2", value: Payment(card: "c2", amount: -1, paidAt: 200), timestamp: 9)
        try driver.advanceWallClockTime(by: .seconds(1))
        let payments = try driver.createOutputTopic("payments", key: .string, value: .json(Payment.self)).readRecordsToList()
        #expect(payments.map(\.timestamp) == [100, 300])
        #expect(payments.map(\.value.amount) == [7, 5])
    }

    @Test func revenuePerMinuteIsFinalPerWindowAndKeepsLatePurchases() throws {
        let driver = try TopologyTestDriver(revenuePerMinute())
        let purchases = driver.createInputTopic("purchases", key: .string, value: .json(Purchase.self))
        for (category, amount, second) in [("books", 12, 5), ("games", 30, 20), ("books", 8, 59), ("books", 4, 75), ("games", 1, 50), ("books", 9, 140)] {
            try purchases.pipeInput(key: "order", value: Purchase(category: category, amount: Int64(amount), paidAt: Int64(second) * 1_000))
        }
        let revenue = driver.createOutputTopic("revenue-per-minute", key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
        // The first minute closes at 70 s, the second at 130 s; the games purchase at 50 s
        // came after 75 s: late.
        #expect(try revenue.readRecordsToList().map { "\($0.key)=\($0.value ?? -1)" } == [
            "[books@0/60000]=20", "[games@0/60000]=30", "[books@60000/120000]=4",
        ])
        #expect(try driver.createOutputTopic("late-purchases", key: .string, value: .json(Purchase.self)).readValuesToList().map(\.amount) == [Int64(1)])
    }

    @Test func theJoinsExampleEnrichesPaymentsAndPairsOrders() throws {
        let driver = try TopologyTestDriver(tablesAndJoins())
        defer { driver.close() }
        try driver.createInputTopic("customers", key: .string, value: .json(Customer.self)).pipeInput(key: "u1", value: Customer(name: "Ada"), timestamp: 0)
        try driver.createInputTopic("merchants", key: .string, value: .json(Merchant.self)).pipeInput(key: "m1", value: Merchant(category: "books"), timestamp: 0)
        try driver.createInputTopic("cards", key: .string, value: .json(Card.self))
            .pipeInput(key: "c1", value: Card(country: "FR", limit: 500, customerID: "u1"), timestamp: 1)
        let payments = driver.createInputTopic("payments", key: .string, value: .json(CardPayment.self))
        try payments.pipeInput(key: "c1", value: CardPayment(amount: 90, merchantID: "m1"), timestamp: 2_000)
        try payments.pipeInput(key: "c2", value: CardPayment(amount: 10, merchantID: "m2"), timestamp: 3_000)
        try driver.createInputTopic("orders", key: .string, value: .json(ShopOrder.self)).pipeInput(key: "c1", value: ShopOrder(total: 90), timestamp: 60_000)
        let checked = try driver.createOutputTopic("checked-payments", key: .string, value: .json(Checked.self)).readRecordsToList()
        #expect(checked.map { "\($0.key):\($0.value.payment.amount)@\($0.value.card?.country ?? "-")" } == ["c1:90@FR", "c2:10@-"])
        let paid = try driver.createOutputTopic("paid-orders", key: .string, value: .json(Paid.self)).readRecordsToList()
        #expect(paid.map { "\($0.key):\($0.value.order.total)/\($0.value.payment.amount)@\($0.timestamp)" } == ["c1:90/90@60000"])
        let holders = try driver.createOutputTopic("card-holders", key: .string, value: .optional(.json(Holder.self))).readRecordsToList()
        #expect(holders.map { "\($0.key):\($0.value?.customer.name ?? "-")@\($0.timestamp)" } == ["c1:Ada@1"])
        // Only the payment whose merchant is known comes out of the inner join.
        let placed = try driver.createOutputTopic("placed-payments", key: .string, value: .json(Placed.self)).readRecordsToList()
        #expect(placed.map { "\($0.key):\($0.value.merchant.category)" } == ["c1:books"])
    }

    @Test func theTestDriverExampleRuns() throws {
        let click = Click(user: "ada", kind: .pageView, page: "/products/42", userAgent: "Mozilla/5.0 (iPhone) Mobile")
        try testDriverExample(topology: try clickTopology(), click: click)
    }

    @Test func theWrappersExampleRuns() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("events", partitions: 1)
        let (metadata, _) = try await wrappersExample(bootstrapServers: [kafka.bootstrapServers], logger: streamsTestLogger) { [] }
        #expect(metadata.topic == "events" && metadata.offset == 0)
    }

    @Test func theSimulatedClusterExampleRuns() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("docs-simulated-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var serde = [UInt8]()
        try BigEndianIntegerSerde<Int64>().serialize(5, into: &serde)
        let orders = (0..<30).map { (key: Array("customer-\($0 % 4)".utf8), value: serde) }
        let makeTopology: @Sendable () throws -> Topology = {
            let builder = StreamsBuilder()
            builder.stream("orders", key: .string, value: .int64).groupByKey().reduce(materialized: .as("totals")) { $0 + $1 }
                .toStream().to("totals", value: .optional(.int64))
            return try builder.build()
        }
        var logger = streamsTestLogger
        logger.logLevel = .critical
        let (_, output) = try await simulatedClusterExample(
            seed: 3, orders: orders, makeTopology: makeTopology, temporaryDirectory: directory, logger: logger)
        var last: [String: Int64] = [:]
        for record in output {
            last[String(decoding: record.key ?? [], as: UTF8.self)] = try (record.value ?? []).withUnsafeBytes { try BigEndianIntegerSerde<Int64>().deserialize($0) }
        }
        #expect(last == ["customer-0": 40, "customer-1": 40, "customer-2": 35, "customer-3": 35])
    }
}
