import Hummingbird

/// A word's count, and which instance read it from its store.
public struct WordCountAnswer: ResponseCodable, Equatable {
    public let word: String
    public let count: Int64
    /// The instance whose store holds the word (`host:port`).
    public let servedBy: String
    /// The instance that forwarded the request there, if another did.
    public var forwardedBy: String?
}

/// A category's order counts per minute.
public struct OrdersPerMinuteAnswer: ResponseCodable, Equatable {
    public struct Minute: Codable, Equatable, Sendable {
        public let start: Int64
        public let end: Int64
        public let orders: Int64

        public init(start: Int64, end: Int64, orders: Int64) {
            self.start = start
            self.end = end
            self.orders = orders
        }
    }

    public let category: String
    public let minutes: [Minute]
    public let servedBy: String
    public var forwardedBy: String?
}

/// Whether the instance can answer queries, and each stream thread's state.
public struct Readiness: ResponseCodable, Equatable {
    public let ready: Bool
    public let threads: [String: String]
}

/// Every category's order counts per minute in a time range, gathered from every instance
/// that holds a part of the store.
public struct AllOrdersPerMinuteAnswer: ResponseCodable, Equatable {
    public struct Minute: Codable, Equatable, Sendable {
        public let category: String
        public let start: Int64
        public let end: Int64
        public let orders: Int64

        public init(category: String, start: Int64, end: Int64, orders: Int64) {
            self.category = category
            self.start = start
            self.end = end
            self.orders = orders
        }
    }

    /// By window start, then category.
    public let minutes: [Minute]
    /// The instances whose stores the minutes come from.
    public let servedBy: [String]
}
