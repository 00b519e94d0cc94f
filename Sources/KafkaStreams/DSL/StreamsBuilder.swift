/// The entry point of the DSL: declare input streams, chain operations on them, then
/// ``build()`` the ``Topology`` (the Processor API graph) they describe.
///
/// ```swift
/// let builder = StreamsBuilder()
/// builder.stream("clicks", key: .optional(.string), value: .json(Click.self))
///     .filter { _, click in !click.isBot }
///     .mapValues { click in click.page }
///     .to("pages", value: .string)
/// let topology = try builder.build()
/// ```
///
/// Operations never throw: a mistake (a duplicate name, say) is reported by ``build()``.
/// Nodes get Kafka Streams' generated names (`KSTREAM-FILTER-0000000001`) unless given
/// one with `named:`.
public final class StreamsBuilder {
    private var topology = Topology()
    private var firstError: (any Error)?
    private var nodeCounter = 0
    /// The tables each table computed record by record (filter, mapValues, a table join)
    /// comes from: old values asked of it must come from there.
    private var derivedTableParents: [String: [String]] = [:]

    public init() {}

    /// A stream of the records of `topics`. Without serdes, the configuration's default
    /// serdes are used (they must match `Key` and `Value`); `timestamp` says where each
    /// record's event time comes from (by default the configuration's
    /// ``StreamsConfiguration/defaultTimestampExtractor``).
    @inlinable
    public func stream<Key, Value>(
        _ topics: String..., named: String? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil,
        timestamp: TimestampExtractor<Key, Value> = .configured
    ) -> KStream<Key, Value> {
        stream(topics, named: named, key: key, value: value, timestamp: timestamp)
    }

    /// A stream of the records of `topics` (an array).
    @inlinable
    public func stream<Key, Value>(
        _ topics: [String], named: String? = nil, key: AnySerde<Key>? = nil, value: AnySerde<Value>? = nil,
        timestamp: TimestampExtractor<Key, Value> = .configured
    ) -> KStream<Key, Value> {
        let name = nodeName(named, prefix: "KSTREAM-SOURCE-")
        record { try $0.addSource(name, topics: topics.map(TopicName.external), key: key, value: value, timestamp: timestamp) }
        return KStream(builder: self, node: name, keySerde: key, valueSerde: value)
    }

    /// The topology built so far. Throws the first error any operation met.
    public func build() throws -> Topology {
        if let firstError { throw firstError }
        return topology
    }

    // MARK: Used by the stream types

    @usableFromInline
    func nodeName(_ given: String?, prefix: String) -> String {
        defer { nodeCounter += 1 }
        if let given { return given }
        let number = String(nodeCounter)
        return prefix + String(repeating: "0", count: max(0, 10 - number.count)) + number
    }

    /// Records that the table node `node` is computed from the updates of `parents`.
    @usableFromInline
    func noteDerivedTable(_ node: String, from parents: String...) {
        derivedTableParents[node] = parents
    }

    /// Has the table node `node`, and every table it is computed from, send old values
    /// (a node about to follow it subtracts or retracts them).
    @usableFromInline
    func sendOldValues(from node: String) {
        var pending = [node]
        var done: Set<String> = []
        while let current = pending.popLast() {
            guard done.insert(current).inserted else { continue }
            record { try $0.enableSendingOldValues(current) }
            pending += derivedTableParents[current] ?? []
        }
    }

    @usableFromInline
    func record(_ change: (inout Topology) throws -> Void) {
        guard firstError == nil else { return }
        do {
            try change(&topology)
        } catch {
            firstError = error
        }
    }
}
