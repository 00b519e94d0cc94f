import Dispatch
import Foundation
import Hummingbird
import KafkaStreams

/// The query endpoints: each asks which instance holds the key, reads this instance's
/// store when it is this one, and forwards the request otherwise.
struct QueryRoutes: Sendable {
    let app: StreamsApp
    let me: HostInfo
    let forwarder = Forwarder()

    func add(to router: Router<BasicRequestContext>) {
        router.get("/counts/:word") { request, context -> WordCountAnswer in
            let word = try context.parameters.require("word")
            return try await count(of: word, forwarded: Self.isForwarded(request))
        }
        router.get("/orders/per-minute") { request, _ -> AllOrdersPerMinuteAnswer in
            let (from, to) = Self.timeRange(of: request)
            return try await allOrdersPerMinute(from: from, to: to, localOnly: request.uri.queryParameters.get("scope") == "local")
        }
        router.get("/orders/:category/per-minute") { request, context -> OrdersPerMinuteAnswer in
            let category = try context.parameters.require("category")
            let (from, to) = Self.timeRange(of: request)
            return try await ordersPerMinute(of: category, from: from, to: to, forwarded: Self.isForwarded(request))
        }
    }

    func count(of word: String, forwarded: Bool) async throws -> WordCountAnswer {
        let owner = try await owner(of: word, store: ServiceTopology.wordCounts, forwarded: forwarded)
        guard owner == me else {
            var answer = try await forwarder.get(WordCountAnswer.self, from: owner, path: "/counts/\(word)", query: [])
            answer.forwardedBy = me.description
            return answer
        }
        let count = try await Self.local { try app.store(named: ServiceTopology.wordCounts, key: String.self, value: Int64.self).get(word) }
        guard let count else { throw HTTPError(.notFound, message: "no count for \"\(word)\"") }
        return WordCountAnswer(word: word, count: count, servedBy: me.description)
    }

    func ordersPerMinute(of category: String, from: Int64, to: Int64, forwarded: Bool) async throws -> OrdersPerMinuteAnswer {
        let owner = try await owner(of: category, store: ServiceTopology.ordersPerMinute, forwarded: forwarded)
        guard owner == me else {
            var answer = try await forwarder.get(OrdersPerMinuteAnswer.self, from: owner, path: "/orders/\(category)/per-minute", query: Self.rangeQuery(from: from, to: to))
            answer.forwardedBy = me.description
            return answer
        }
        let windows = try await Self.local {
            try app.windowStore(named: ServiceTopology.ordersPerMinute, key: String.self, value: Int64.self).fetch(category, from: from, to: to)
        }
        let minutes = windows.map { OrdersPerMinuteAnswer.Minute(start: $0.window.start, end: $0.window.end, orders: $0.value) }
        return OrdersPerMinuteAnswer(category: category, minutes: minutes, servedBy: me.description)
    }

    /// Every category's minutes in `from...to`: this instance's part, and (unless
    /// `localOnly`) every other holder's, asked with `scope=local`. The store is spread
    /// over the instances, so a range over all keys needs all of them (scatter-gather);
    /// one that cannot answer makes the whole answer 503.
    func allOrdersPerMinute(from: Int64, to: Int64, localOnly: Bool) async throws -> AllOrdersPerMinuteAnswer {
        var minutes = try await Self.local {
            try app.windowStore(named: ServiceTopology.ordersPerMinute, key: String.self, value: Int64.self).fetchAll(from: from, to: to)
        }.map { AllOrdersPerMinuteAnswer.Minute(category: $0.key.key, start: $0.key.window.start, end: $0.key.window.end, orders: $0.value) }
        var servedBy = [me.description]
        if !localOnly {
            let holders = try await Self.local { try app.allMetadata(store: ServiceTopology.ordersPerMinute) }.map(\.hostInfo)
            for host in holders where host != me {
                let query = Self.rangeQuery(from: from, to: to) + [URLQueryItem(name: "scope", value: "local")]
                let part = try await forwarder.get(AllOrdersPerMinuteAnswer.self, from: host, path: "/orders/per-minute", query: query)
                minutes += part.minutes
                servedBy += part.servedBy
            }
        }
        minutes.sort { ($0.start, $0.category) < ($1.start, $1.category) }
        return AllOrdersPerMinuteAnswer(minutes: minutes, servedBy: servedBy.sorted())
    }

    /// The instance holding `key`; a forwarded request for a key held elsewhere is not
    /// forwarded again (the sender's view was stale, or a rebalance is under way).
    private func owner(of key: String, store: String, forwarded: Bool) async throws -> HostInfo {
        let owner = try await Self.local { try app.metadata(forKey: key, store: store, keySerde: .string).activeHost }
        if forwarded && owner != me { throw Self.retryLater("\(me) no longer holds this key; ask again") }
        return owner
    }

    /// Store reads are synchronous RocksDB reads: they run here, off Swift's cooperative
    /// pool (and off the server's event loops).
    private static let storeReads = DispatchQueue(label: "store-reads", attributes: .concurrent)

    /// Runs a store call on ``storeReads``, turning "not here now" into 503 (ask again) and
    /// the rest into 500.
    private static func local<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                storeReads.async { continuation.resume(with: Result { try body() }) }
            }
        } catch let error as StoreUnavailableError {
            throw retryLater("\(error)")
        } catch let error as HTTPError {
            throw error
        } catch {
            throw HTTPError(.internalServerError, message: "\(error)")
        }
    }

    private static func retryLater(_ message: String) -> HTTPError {
        HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"], message: message)
    }

    /// The window starts asked for (`from`, `to`, epoch ms), all of them by default.
    private static func timeRange(of request: Request) -> (from: Int64, to: Int64) {
        (request.uri.queryParameters.get("from", as: Int64.self) ?? 0, request.uri.queryParameters.get("to", as: Int64.self) ?? Int64.max)
    }

    /// The same range, for a request sent on.
    private static func rangeQuery(from: Int64, to: Int64) -> [URLQueryItem] {
        [URLQueryItem(name: "from", value: "\(from)"), URLQueryItem(name: "to", value: "\(to)")]
    }

    private static func isForwarded(_ request: Request) -> Bool { request.uri.queryParameters.get("forwarded") == "true" }
}
