import Foundation
import KafkaStreams

/// Card fraud rules over a stream of transactions: each transaction is checked against its
/// card's profile (a table: home country and limit), and against the card's own other
/// transactions within ten minutes (a stream–stream self-join). An alert says why.
enum FraudAlertsTopology {
    static let profiles = "card-profiles"
    static let transactions = "card-transactions"
    static let alerts = "fraud-alerts"
    /// Two countries within this long: one card cannot be in both.
    static let travelWindow: Duration = .seconds(600)

    struct Profile: Codable, Sendable {
        var home: String
        /// Cents.
        var limit: Int64
    }

    struct Transaction: Codable, Sendable, Equatable {
        var id: String
        var country: String
        /// Cents.
        var amount: Int64
        /// When it happened: the event time, in milliseconds since the epoch.
        var at: Int64
    }

    struct Alert: Codable, Sendable, Equatable {
        var transaction: String
        var reason: String
    }

    static func build() throws -> Topology {
        let builder = StreamsBuilder()
        let cards = builder.table(profiles, key: .string, value: .json(Profile.self))
        let payments = builder.stream(transactions, key: .string, value: .json(Transaction.self), timestamp: .field { _, payment, _ in payment.at })
        // Abroad and over the limit: the card's profile as it is when the payment comes.
        payments
            .join(cards, named: "check-profile") { payment, profile in abroadAndOverLimit(payment, profile) }
            .flatMapValues { alert in alert.map { [$0] } ?? [] }
            .to(alerts, value: .json(Alert.self))
        // Two countries within ten minutes: each pair once, from its later payment.
        payments
            .join(
                payments, windows: .timeDifference(travelWindow, grace: .seconds(60)), named: "two-countries", value: .json(Transaction.self),
                otherValue: .json(Transaction.self)
            ) { earlier, later in twoCountries(earlier, later) }
            .flatMapValues { alert in alert.map { [$0] } ?? [] }
            .to(alerts, value: .json(Alert.self))
        return try builder.build()
    }

    static func abroadAndOverLimit(_ payment: Transaction, _ profile: Profile) -> Alert? {
        guard payment.country != profile.home && payment.amount > profile.limit else { return nil }
        return Alert(
            transaction: payment.id,
            reason: "abroad (\(payment.country), home \(profile.home)) and over the limit (\(money(payment.amount)) > \(money(profile.limit)))")
    }

    static func twoCountries(_ earlier: Transaction, _ later: Transaction) -> Alert? {
        guard earlier.at < later.at && earlier.country != later.country else { return nil }
        let minutes = (later.at - earlier.at) / 60_000
        return Alert(transaction: later.id, reason: "\(later.country) \(minutes) min after \(earlier.country) (\(earlier.id))")
    }

    static func money(_ cents: Int64) -> String { String(format: "$%.2f", Double(cents) / 100) }

    /// Profiles of five cards.
    static let sampleProfiles: [(card: String, profile: Profile)] = [
        ("card-1", Profile(home: "FR", limit: 50_000)), ("card-2", Profile(home: "US", limit: 100_000)),
        ("card-3", Profile(home: "DE", limit: 20_000)), ("card-4", Profile(home: "GB", limit: 80_000)),
        ("card-5", Profile(home: "JP", limit: 30_000)),
    ]

    /// Half an hour of payments from `start`: most at home, two abroad and over the limit,
    /// two cards in two countries within minutes (one of them twice).
    static func sampleTransactions(start: Int64) -> [(card: String, payment: Transaction)] {
        let rows: [(String, String, Int64, Int64)] = [
            ("card-1", "FR", 4_500, 1), ("card-2", "US", 12_000, 2), ("card-3", "DE", 3_000, 3), ("card-4", "GB", 9_900, 4),
            ("card-5", "JP", 1_500, 5), ("card-1", "DE", 90_000, 6), ("card-2", "US", 2_500, 8), ("card-3", "AT", 25_000, 9),
            ("card-4", "GB", 4_000, 11), ("card-2", "MX", 8_000, 12), ("card-5", "JP", 2_000, 14), ("card-1", "FR", 7_000, 20),
            ("card-4", "FR", 6_000, 22), ("card-4", "GB", 3_000, 25), ("card-3", "DE", 1_200, 28), ("card-5", "JP", 900, 30),
        ]
        return rows.enumerated().map { index, row in
            (row.0, Transaction(id: "t\(index + 1)", country: row.1, amount: row.2, at: start + row.3 * 60_000))
        }
    }

    /// The alerts the rules give for `payments`, computed directly.
    static func expectedAlerts(_ payments: [(card: String, payment: Transaction)]) -> [Alert] {
        let homes = Dictionary(uniqueKeysWithValues: sampleProfiles.map { ($0.card, $0.profile) })
        var found: [Alert] = []
        for (index, (card, payment)) in payments.enumerated() {
            if let profile = homes[card], let alert = abroadAndOverLimit(payment, profile) { found.append(alert) }
            let window = Int64(travelWindow.components.seconds) * 1_000
            for (otherCard, earlier) in payments[..<index] where otherCard == card && payment.at - earlier.at <= window {
                if let alert = twoCountries(earlier, payment) { found.append(alert) }
            }
        }
        return found
    }
}
