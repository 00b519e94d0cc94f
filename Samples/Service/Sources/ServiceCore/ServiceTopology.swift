import KafkaStreams

/// What the service computes: word counts of text lines, and orders per category per
/// minute, both kept in stores that its HTTP endpoints query.
public enum ServiceTopology {
    /// Text lines, any key.
    public static let linesTopic = "service-lines"
    /// Orders keyed by category (the value is the order id), with event timestamps.
    public static let ordersTopic = "service-orders"
    public static let wordCounts = "word-counts"
    public static let ordersPerMinute = "orders-per-minute"

    public static func build() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream(linesTopic, key: .optional(.string), value: .string)
            .flatMapValues { line in line.lowercased().split(separator: " ").map(String.init) }
            .groupBy(key: .string) { _, word in word }
            .count(materialized: .as(wordCounts))
        builder.stream(ordersTopic, key: .string, value: .string)
            .groupByKey()
            .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(10)))
            // A day of minutes stays queryable (by default only size + grace would).
            .count(materialized: .as(ordersPerMinute), retention: .seconds(24 * 3_600))
        return try builder.build()
    }
}
