// The Swift blocks of README.md and the DocC articles, word for word, inside what they
// need to compile (the declarations they use, a function around statements). Every line
// of a block must appear here, in order and unbroken; DocumentationExampleTests checks
// that and runs them. Edit a block in both places.
import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Logging
import RdKafka
import SampleSupport  // Click, EnrichedClick and enrich, as the click-events sample has them
import ServiceLifecycle
import Testing

// MARK: README, "A topology in a few lines"; GettingStarted.md, "Writing a topology"

func clickTopology() throws -> Topology {
    let builder = StreamsBuilder()
    let kinds = builder.stream("clicks", key: .optional(.string), value: .json(Click.self))
        .filterNot { _, click in click.userAgent.contains("bot") }  // closures are @Sendable and may throw
        .split(named: "kind-")
        .branch("page") { _, click in click.kind == .pageView }
        .defaultBranch("button")
    kinds["kind-page"]!.mapValues(enrich).to("page-views", value: .json(EnrichedClick.self))
    kinds["kind-button"]!.mapValues(enrich).to("button-clicks", value: .json(EnrichedClick.self))
    return try builder.build()
}

/// Runs until SIGTERM; `bootstrapServers` is "localhost:9092", say.
func runClicks(bootstrapServers: String, logger: Logger) async throws {
    let topology = try clickTopology()
    print(topology.describe())               // as Kafka Streams prints it; `.mermaid` draws it
    var configuration = StreamsConfiguration(applicationID: "clicks", bootstrapServers: bootstrapServers)
    configuration.streamThreads = 2
    configuration.errorHandlers.deserialization = .deadLetter(topic: "clicks-dlq")
    let app = try StreamsApp(topology: topology, configuration: configuration, logger: logger)
    try await ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm], logger: logger).run()
}

// MARK: TimeAndWindows.md, "Event time"

struct Payment: Codable { var card: String; var amount: Int64; var paidAt: Int64 }

func paymentsTopology() throws -> Topology {
    let builder = StreamsBuilder()
    let byTime = TimestampExtractor<String, Payment>.field { _, payment, _ in payment.paidAt }
    let web = builder.stream("payments-web", key: .string, value: .json(Payment.self), timestamp: byTime)
    let shop = builder.stream("payments-shop", key: .string, value: .json(Payment.self), timestamp: byTime)
    web.merge(shop)                                      // one task reads both, in event-time order
        .filter { _, payment in payment.amount > 0 }
        .to("payments")
    return try builder.build()
}

// MARK: TimeAndWindows.md, "Windows"

struct Purchase: Codable { var category: String; var amount: Int64; var paidAt: Int64 }

func revenuePerMinute() throws -> Topology {
    let builder = StreamsBuilder()
    builder.stream("purchases", key: .string, value: .json(Purchase.self),
                   timestamp: .field { _, purchase, _ in purchase.paidAt })
        .groupBy(key: .string) { _, purchase in purchase.category }
        .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(10)))
        .aggregate(materialized: .as("revenue-per-minute"), emit: .onWindowClose,
                   lateRecords: .deadLetter(topic: "late-purchases"), value: .int64,
                   initializer: { 0 }) { _, purchase, total in total + purchase.amount }
        .toStream()   // KStream<Windowed<String>, Int64?>: [category@start/end] -> revenue
        .to("revenue-per-minute", key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
    return try builder.build()
}

// MARK: Joins.md, "Overview"

struct Card: Codable, Sendable { var country: String; var limit: Int64; var customerID: String }
struct CardPayment: Codable, Sendable { var amount: Int64; var merchantID: String }
struct Customer: Codable, Sendable { var name: String }
struct Merchant: Codable, Sendable { var category: String }
struct Holder: Codable, Sendable {
    var card: Card
    var customer: Customer
    init(_ card: Card, _ customer: Customer) { (self.card, self.customer) = (card, customer) }
}
struct Placed: Codable, Sendable {
    var payment: CardPayment
    var merchant: Merchant
    init(_ payment: CardPayment, _ merchant: Merchant) { (self.payment, self.merchant) = (payment, merchant) }
}
struct ShopOrder: Codable, Sendable { var total: Int64 }
struct Checked: Codable, Sendable {
    var payment: CardPayment
    var card: Card?
    init(_ payment: CardPayment, _ card: Card?) { (self.payment, self.card) = (payment, card) }
}
struct Paid: Codable, Sendable {
    var order: ShopOrder
    var payment: CardPayment
    init(_ order: ShopOrder, _ payment: CardPayment) { (self.order, self.payment) = (order, payment) }
}

func tablesAndJoins() throws -> Topology {
    let builder = StreamsBuilder()
    let payments = builder.stream("payments", key: .string, value: .json(CardPayment.self))
    let orders = builder.stream("orders", key: .string, value: .json(ShopOrder.self))
    // Spend per country: a card moving country leaves the old country's total.
    let cards = builder.table("cards", key: .string, value: .json(Card.self))
    cards.groupBy(key: .string, value: .int64) { _, card in (card.country, card.limit) }
        .reduce(adder: { $0 + $1 }, subtractor: { $0 - $1 })

    // Each payment with its card (stream–table), and orders with their payment within an hour.
    payments.leftJoin(cards) { payment, card in Checked(payment, card) }
        .to("checked-payments", value: .json(Checked.self))
    orders.join(payments, windows: .timeDifference(.seconds(3_600), grace: .seconds(300))) { order, payment in Paid(order, payment) }
        .to("paid-orders", value: .json(Paid.self))

    // Each card with its holder, though cards are keyed by card number (a foreign-key join),
    // and each payment with its merchant, held whole by every instance (a global table).
    let customers = builder.table("customers", key: .string, value: .json(Customer.self))
    cards.join(customers, foreignKey: { _, card in card.customerID }, value: .json(Holder.self)) { card, customer in Holder(card, customer) }
        .toStream().to("card-holders", value: .optional(.json(Holder.self)))
    let merchants = builder.globalTable("merchants", key: .string, value: .json(Merchant.self))
    payments.join(merchants, key: { _, payment in payment.merchantID }) { payment, merchant in Placed(payment, merchant) }
        .to("placed-payments", value: .json(Placed.self))
    return try builder.build()
}

// MARK: StateAndRestore.md, "Overview"

func wordCountExample() throws -> Topology {
    let builder = StreamsBuilder()
    builder.stream("text-lines", key: .optional(.string), value: .string)
        .flatMapValues { line in line.lowercased().split(separator: " ").map(String.init) }
        .groupBy(key: .string) { _, word in word }          // repartitions by the new key
        .count(materialized: .as("word-counts"))             // RocksDB store + changelog
        .toStream()                                          // KStream<String, Int64?>
        .to("word-counts", value: .optional(.int64))
    return try builder.build()
}

/// Two stores whose entries expire: a processor's, and a DSL count's.
func timeToLiveExample(topology: inout Topology, builder: StreamsBuilder) throws {
    try topology.addStateStore(
        KeyValueStoreBuilder<String, String>.persistent("last-page", key: .string, value: .string)
            .withTimeToLive(.seconds(24 * 3600)))
    builder.stream("logins", key: .string, value: .string).groupByKey()
        .count(materialized: Materialized.as("recent-logins").withTimeToLive(.seconds(7 * 24 * 3600)))
}

/// Which instance holds a word's count (asked before the app runs, it says it is not running).
func instanceOfKeyExample(topology: Topology, logger: Logger) throws -> KeyQueryMetadata {
    var configuration = StreamsConfiguration(applicationID: "word-count", bootstrapServers: "localhost:9092")
    configuration.applicationServer = "10.0.0.7:8080"
    let app = try StreamsApp(topology: topology, configuration: configuration, logger: logger)
    // While it runs:
    let owner = try app.metadata(forKey: "streams", store: "word-counts", keySerde: .string)
    // owner.activeHost: the instance to ask (maybe this one); owner.partition: the key's task
    return owner
}

// MARK: README, "What it does"

func exactlyOnceExample(topology: Topology, logger: Logger) throws -> StreamsApp {
    var configuration = StreamsConfiguration(applicationID: "payments", bootstrapServers: "localhost:9092")
    configuration.processingGuarantee = .exactlyOnce
    return try StreamsApp(topology: topology, configuration: configuration, logger: logger)
}

// MARK: Reprocessing.md, "Bounded runs, cut-over and reset in detail"

/// Version 2 of a count of orders per minute, into `output`.
func topologyV2(output: String) throws -> Topology {
    let builder = StreamsBuilder()
    builder.stream("orders", key: .string, value: .string).groupByKey()
        .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(10)))
        .count(emit: .onWindowClose)
        .toStream()
        .to(output, key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
    return try builder.build()
}

func replayExample(servers: String, logger: Logger) async throws -> InputLag {
    var configuration = StreamsConfiguration(applicationID: "orders-per-minute-v2", bootstrapServers: servers)
    configuration.boundedRun = BoundedRun()              // return once the input at start is processed
    let app = try StreamsApp(topology: topologyV2(output: "orders-per-minute.v2"), configuration: configuration, logger: logger)
    try await app.run()                                  // returns by itself
    let lag = try await app.inputLag()                   // 0 once done; per partition in lag.partitions
    return lag
}

// MARK: TestingTopologies.md, "Overview"

func testDriverExample(topology: Topology, click: Click) throws {
    let driver = try TopologyTestDriver(topology)
    let clicks = driver.createInputTopic("clicks", key: .optional(.string), value: .json(Click.self))
    let pages = driver.createOutputTopic("page-views", key: .optional(.string), value: .json(EnrichedClick.self))
    try clicks.pipeInput(key: "ada", value: click, timestamp: 1_000)
    #expect(try pages.readValuesToList().map(\.section) == ["products"])
    try driver.advanceWallClockTime(by: .seconds(30))   // fires wall-clock punctuations
}

// MARK: RunningInProduction.md, "Using the wrappers"

func wrappersExample(
    bootstrapServers: [String], logger: Logger, processedOffsets: @escaping @Sendable () -> [TopicPartitionOffset]
) async throws -> (RecordMetadata, [ConsumerRecord]) {
    var config = KafkaConfiguration()
    config.bootstrapServers = bootstrapServers      // ["localhost:9092"], say
    config.enableIdempotence = true
    let producer = try Producer(configuration: config, logger: logger)
    let metadata = try await producer.send(ProducerRecord(topic: "events", key: Array("k".utf8), value: Array("v".utf8)))

    var consumerConfig = config
    consumerConfig.groupID = "my-service"
    consumerConfig.enableAutoCommit = false
    let consumer = try Consumer(configuration: consumerConfig, logger: logger) { event, consumer in
        // Runs synchronously inside librdkafka's rebalance callback (eager and cooperative):
        if case .revoked = event { try? consumer.commit(processedOffsets()) }
    }
    try consumer.subscribe(["events"])
    let batch = try await consumer.poll(maxRecords: 500, timeout: .milliseconds(100))  // sync on a thread you own
    return (metadata, batch)
}

// MARK: ExactlyOnce.md, "Overview"

func exactlyOnceArticleExample(topology: Topology, logger: Logger) throws -> StreamsApp {
    var configuration = StreamsConfiguration(applicationID: "payments", bootstrapServers: "kafka:9092")
    configuration.processingGuarantee = .exactlyOnce
    return try StreamsApp(topology: topology, configuration: configuration, logger: logger)
}

// MARK: ExactlyOnce.md, "Proving it for your own topology"

func simulatedClusterExample(
    seed: UInt64, orders: [(key: [UInt8], value: [UInt8])], makeTopology: @escaping @Sendable () throws -> Topology,
    temporaryDirectory: String, logger: Logger
) async throws -> (SimulatedCluster.RunReport, [SimulatedRecord]) {
    let cluster = SimulatedCluster(seed: seed, injection: CrashInjection(crashProbability: 0.003))
    cluster.createTopic("orders", partitions: 3)
    cluster.createTopic("totals", partitions: 3)
    for order in orders { try cluster.produce("orders", key: order.key, value: order.value) }

    var configuration = StreamsConfiguration(applicationID: "totals", bootstrapServers: "simulated")
    configuration.processingGuarantee = .exactlyOnce
    configuration.stateDirectory = temporaryDirectory
    let report = try await cluster.runUntilProcessed(makeTopology, configuration: configuration, logger: logger)

    let output = cluster.records("totals", isolation: .readCommitted)
    // Compare `output` with what the input implies: no record missing, none repeated.
    return (report, output)
}

// MARK: Reprocessing.md, "Replay into a versioned output"

func replayV2(servers: String, logger: Logger) async throws -> InputLag {
    var configuration = StreamsConfiguration(applicationID: "orders-per-minute-v2", bootstrapServers: servers)
    // Everything written before the replay starts; the windows' last results too.
    configuration.boundedRun = BoundedRun(progressInterval: .seconds(30), closesWindowsAtEnd: true)
    let app = try StreamsApp(topology: topologyV2(output: "orders-per-minute.v2"), configuration: configuration, logger: logger)
    try await app.run()
    return try await app.inputLag()
}

// MARK: Reprocessing.md, "Bounded state"

func boundedState(builder: StreamsBuilder) {
    builder.stream("logins", key: .string, value: .string)
        .deduplicate(within: .seconds(600))
        .groupByKey()
        .count(materialized: Materialized.as("logins-this-week").withTimeToLive(.seconds(7 * 24 * 3600)))
}

// MARK: Reprocessing.md, "Starting over: the reset"

func resetBeforeRerun(servers: String, logger: Logger) async throws {
    var reset = ApplicationReset(applicationID: "orders-per-minute-v2", bootstrapServers: servers, inputTopics: ["orders"])
    reset.stateDirectory = "/var/lib/orders"
    print(try await reset.plan(logger: logger))
    try await reset.run(logger: logger)
}
