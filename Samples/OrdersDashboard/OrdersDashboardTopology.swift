import Foundation
import KafkaStreams

/// The flash-sale dashboard: purchases with the time they were placed, some arriving out of
/// order and a few too late; revenue and orders per category per minute, each minute shown
/// once when it closes, and each user's shopping sessions.
enum OrdersDashboardTopology {
    static let input = "orders"
    static let perMinute = "orders-per-minute"
    static let late = "orders-late"
    static let sessions = "user-sessions"
    /// Version 2's per-minute totals, beside version 1's (see ``buildV2()``).
    static let perMinuteV2 = "orders-per-minute.v2"
    /// An order this big (cents) counts as big in version 2.
    static let bigOrder: Int64 = 3_000
    static let minute: Duration = .seconds(60)
    static let grace: Duration = .seconds(10)
    static let sessionGap: Duration = .seconds(30)

    struct Order: Codable, Sendable {
        var user: String
        var category: String
        /// Cents.
        var amount: Int64
        /// When it was placed: the event time, in milliseconds since the epoch.
        var placedAt: Int64
    }

    struct Totals: Codable, Sendable, Equatable {
        var orders: Int = 0
        var revenue: Int64 = 0

        func adding(_ order: Order) -> Totals { Totals(orders: orders + 1, revenue: revenue + order.amount) }
        func merging(_ other: Totals) -> Totals { Totals(orders: orders + other.orders, revenue: revenue + other.revenue) }
    }

    /// Version 2's totals: version 1's, and how many orders were big.
    struct TotalsV2: Codable, Sendable, Equatable {
        var orders: Int = 0
        var revenue: Int64 = 0
        var bigOrders: Int = 0

        func adding(_ order: Order) -> TotalsV2 {
            TotalsV2(orders: orders + 1, revenue: revenue + order.amount, bigOrders: bigOrders + (order.amount >= bigOrder ? 1 : 0))
        }
    }

    /// Version 2 of the per-minute totals, with changed logic (big orders counted too):
    /// replayed over the orders from offset 0 into its own topic, beside version 1's.
    static func buildV2() throws -> Topology {
        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .json(Order.self), timestamp: .field { _, order, _ in order.placedAt })
            .groupBy(key: .string) { _, order in order.category }
            .windowedBy(.tumbling(size: minute, grace: grace))
            .aggregate(materialized: .as("category-minutes-v2"), emit: .onWindowClose, value: .json(TotalsV2.self), initializer: { TotalsV2() }) {
                _, order, totals in totals.adding(order)
            }
            .toStream()
            .to(perMinuteV2, key: .timeWindowed(.string, windowSize: minute), value: .optional(.json(TotalsV2.self)))
        return try builder.build()
    }

    static func build() throws -> Topology {
        let builder = StreamsBuilder()
        let orders = builder.stream(input, key: .string, value: .json(Order.self), timestamp: .field { _, order, _ in order.placedAt })
        orders
            .groupBy(key: .string) { _, order in order.category }
            .windowedBy(.tumbling(size: minute, grace: grace))
            .aggregate(
                materialized: .as("category-minutes"), emit: .onWindowClose, lateRecords: .deadLetter(topic: late), value: .json(Totals.self),
                initializer: { Totals() }
            ) { _, order, totals in totals.adding(order) }
            .toStream()
            .to(perMinute, key: .timeWindowed(.string, windowSize: minute), value: .optional(.json(Totals.self)))
        orders
            .groupByKey()
            .windowedBy(.session(gap: sessionGap, grace: grace))
            .aggregate(materialized: .as("user-sessions"), emit: .onWindowClose, value: .json(Totals.self), initializer: { Totals() }) {
                _, order, totals in totals.adding(order)
            } merger: { _, first, second in first.merging(second) }
            .toStream()
            .to(sessions, key: .sessionWindowed(.string), value: .optional(.json(Totals.self)))
        return try builder.build()
    }

    /// A flash sale starting at `start` (a whole minute): orders every 5 s for two minutes,
    /// a lull, two more minutes; one arriving out of order within the grace, three arriving
    /// after their minute closed, and a last order per user at six minutes that closes every
    /// window and session before it. The same orders every run.
    static func sampleOrders(start: Int64) -> (all: [Order], late: [Order]) {
        let users = ["ada", "grace", "linus", "barbara", "ken"]
        let categories = ["books", "games", "music"]
        var orders: [Order] = []
        for index in 0..<48 {
            // 0–115 s, then 180–295 s: each user's orders split into two sessions.
            let second = Int64(index * 5 + (index >= 24 ? 60 : 0))
            orders.append(Order(
                user: users[index % users.count], category: categories[(index / 2) % categories.count], amount: Int64(500 + (index * 137) % 4_500),
                placedAt: start + second * 1_000))
        }
        // Out of order within the grace: placed at 55 s, arriving after the one at 60 s.
        orders.swapAt(11, 12)
        // Late: placed at 40 s, 65 s and 150 s, arriving after 210 s, when those minutes
        // have closed.
        let late = [
            Order(user: "ken", category: "books", amount: 1_999, placedAt: start + 40_000),
            Order(user: "ada", category: "games", amount: 2_499, placedAt: start + 65_000),
            Order(user: "linus", category: "music", amount: 999, placedAt: start + 150_000),
        ]
        orders.insert(contentsOf: late, at: 31)
        for (index, user) in users.enumerated() {
            orders.append(Order(user: user, category: categories[index % categories.count], amount: 100, placedAt: start + 360_000))
        }
        return (orders, late)
    }
}
