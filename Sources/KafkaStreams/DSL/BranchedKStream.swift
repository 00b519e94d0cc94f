/// The branches of a ``KStream/split(named:)``: each record goes to the first branch whose
/// predicate it matches, else to the default branch (or nowhere).
///
/// ```swift
/// let branches = clicks.split(named: "kind-")
///     .branch("page") { _, click in click.kind == .page }
///     .branch("button") { _, click in click.kind == .button }
///     .defaultBranch("other")
/// branches["kind-page"]!.to("page-clicks")
/// ```
public final class BranchedKStream<Key, Value> {
    typealias Route = (child: String, predicate: (@Sendable (Key, Value) throws -> Bool)?)

    private let stream: KStream<Key, Value>
    private let prefix: String
    private let splitNode: String
    private var routes: [Route] = []
    private var streams: [String: KStream<Key, Value>] = [:]

    init(stream: KStream<Key, Value>, prefix: String, splitNode: String) {
        self.stream = stream
        self.prefix = prefix
        self.splitNode = splitNode
    }

    /// Adds a branch called `prefix + name` for the records `predicate` accepts (and no
    /// earlier branch took).
    @discardableResult
    public func branch(_ name: String, _ predicate: @escaping @Sendable (Key, Value) throws -> Bool) -> BranchedKStream {
        addBranch(name, predicate: predicate)
        return self
    }

    /// Ends the split with a branch called `prefix + name` for the records no predicate
    /// took; returns every branch by name.
    public func defaultBranch(_ name: String = "0") -> [String: KStream<Key, Value>] {
        addBranch(name, predicate: nil)
        return streams
    }

    /// Ends the split; records no predicate took are dropped. Returns every branch by name.
    public func noDefaultBranch() -> [String: KStream<Key, Value>] { streams }

    private func addBranch(_ name: String, predicate: (@Sendable (Key, Value) throws -> Bool)?) {
        let branchName = prefix + name
        let parent = splitNode
        routes.append((branchName, predicate))
        // The split node's processor gets this list as it is now: a topology built earlier
        // keeps the branches it was built with.
        let routes = routes
        stream.builder.record { topology in
            try topology.addProcessor(branchName, parents: [parent]) { (context: ProcessorContext<Key, Value>) in
                StatelessProcessor<Key, Value, Key, Value>(context: context) { record, context in try context.forward(record) }
            }
            try topology.replaceProcessor(parent) { (context: ProcessorContext<Key, Value>) in
                StatelessProcessor<Key, Value, Key, Value>(context: context) { record, context in
                    try Self.route(record, over: routes, context: context)
                }
            }
        }
        streams[branchName] = KStream(
            builder: stream.builder, node: branchName, keySerde: stream.keySerde, valueSerde: stream.valueSerde,
            repartitionRequired: stream.repartitionRequired)
    }

    /// Sends `record` to the first branch whose predicate accepts it (the default branch
    /// accepts all); no branch: dropped.
    static func route(_ record: Record<Key, Value>, over routes: [Route], context: ProcessorContext<Key, Value>) throws {
        for route in routes {
            if try route.predicate?(record.key, record.value) ?? true {
                try context.forward(record, to: route.child)
                return
            }
        }
    }
}

extension KStream {
    /// Splits the stream into named branches (see ``BranchedKStream``). Branch names are
    /// `named` followed by each branch's name.
    public func split(named: String? = nil) -> BranchedKStream<Key, Value> {
        let splitNode = builder.nodeName(named, prefix: "KSTREAM-BRANCH-")
        // No branch yet: records go nowhere until one is added.
        _ = stateless(prefix: "", named: splitNode) { (_: Record<Key, Value>, _: ProcessorContext<Key, Value>) in }
        return BranchedKStream(stream: self, prefix: named ?? "\(splitNode)-", splitNode: splitNode)
    }
}
