/// A processor graph: sources reading topics, processors, sinks writing topics.
///
/// Build one with ``StreamsBuilder`` (the DSL) or directly:
///
/// ```swift
/// var topology = Topology()
/// try topology.addSource("lines", topics: ["text"], key: .optional(.string), value: .string)
/// try topology.addProcessor("shout", parents: ["lines"]) { context in Shout(context: context) }
/// try topology.addSink("out", topic: "shouted", parents: ["shout"], key: .optional(.string), value: .string)
/// ```
///
/// Each `add` checks its parents exist and that their output types are what the new node
/// accepts, so a topology that builds is wired correctly. A topology is a value: running
/// it in a ``StreamsApp`` or a test driver never changes it.
public struct Topology: Sendable {
    private(set) var nodes: [NodeDefinition] = []
    private var indexByName: [String: Int] = [:]
    /// Internal topics written by a sink and read back by a source (unprefixed name → how
    /// many partitions they get).
    private(set) var internalTopics: [String: InternalTopicPartitions] = [:]
    private(set) var stores: [String: StoreDefinition] = [:]
    /// Stores every instance holds whole (global tables'), outside any sub-topology.
    var globalStores: [String: GlobalStoreDefinition] = [:]

    public init() {}

    /// Adds a node reading `topics` (all the same key and value format).
    /// `timestamp` says where each record's event time comes from.
    @inlinable
    public mutating func addSource<Key, Value>(
        _ name: String, topics: [String], key: some Serde<Key>, value: some Serde<Value>,
        timestamp: TimestampExtractor<Key, Value> = .configured
    ) throws {
        try addSource(name, topics: topics.map(TopicName.external), key: AnySerde(key), value: AnySerde(value), timestamp: timestamp)
    }

    /// Adds a key-value store; processors that name it in `stores:` (added after it) reach
    /// it through ``ProcessorContext/store(named:key:value:)``.
    public mutating func addStateStore<Key, Value>(_ builder: KeyValueStoreBuilder<Key, Value>) throws {
        try addStore(builder.definition())
    }

    /// Adds a processor created per task by `factory`, receiving what `parents` forward.
    /// The factory's context type sets what the processor forwards, and `stores` the state
    /// stores it uses.
    @inlinable
    public mutating func addProcessor<P: Processor, OutputKey, OutputValue>(
        _ name: String,
        parents: [String],
        stores: [String] = [],
        _ factory: @escaping @Sendable (ProcessorContext<OutputKey, OutputValue>) throws -> P
    ) throws {
        try add(Self.processorNode(name, parents: parents, stores: stores, factory))
    }

    /// Gives the processor `name` a new factory of the same types, keeping its parents,
    /// children and stores: how the DSL's split adds a branch. Only this topology value
    /// changes; one built before keeps the factory it had.
    mutating func replaceProcessor<P: Processor, OutputKey, OutputValue>(
        _ name: String, _ factory: @escaping @Sendable (ProcessorContext<OutputKey, OutputValue>) throws -> P
    ) throws {
        guard let index = indexByName[name] else { throw StreamsError(.topology, "no node named \(name) to replace") }
        let old = nodes[index]
        var replacement = Self.processorNode(name, parents: old.parents, stores: old.storeNames, factory)
        guard replacement.input == old.input, replacement.output == old.output else {
            throw StreamsError(.topology, "node \(name) cannot change its types")
        }
        replacement.children = old.children
        replacement.sendsOldValues = old.sendsOldValues
        nodes[index] = replacement
    }

    @inlinable
    static func processorNode<P: Processor, OutputKey, OutputValue>(
        _ name: String, parents: [String], stores: [String],
        _ factory: @escaping @Sendable (ProcessorContext<OutputKey, OutputValue>) throws -> P
    ) -> NodeDefinition {
        NodeDefinition(
            name: name, role: .processor(stores: stores), parents: parents,
            input: TypeSignature(P.InputKey.self, P.InputValue.self),
            output: TypeSignature(OutputKey.self, OutputValue.self),
            makeContext: ForwardingNode<OutputKey, OutputValue>.makeContext,
            makeNode: { context, _ in
                let node = ProcessorNode(name: name, processor: try factory(context as! ProcessorContext<OutputKey, OutputValue>))
                let entry = NodeEntry<Record<P.InputKey, P.InputValue>> { try node.receive($0) }
                return RuntimeNode(entry: entry, closable: node)
            },
            attachChild: ForwardingNode<OutputKey, OutputValue>.attach)
    }

    /// Adds a node writing what `parents` forward to `topic`.
    @inlinable
    public mutating func addSink<Key, Value>(
        _ name: String, topic: String, parents: [String], key: some Serde<Key>, value: some Serde<Value>
    ) throws {
        try addSink(name, target: .topic(.external(topic)), parents: parents, key: AnySerde(key), value: AnySerde(value))
    }

    /// Adds a node writing each record to the topic `topicFor` names for it.
    @inlinable
    public mutating func addSink<Key, Value>(
        _ name: String,
        parents: [String],
        key: some Serde<Key>,
        value: some Serde<Value>,
        topicFor: @escaping @Sendable (Key, Value, RecordContext?) -> String
    ) throws {
        try addSink(name, target: .extractor(topicFor), parents: parents, key: AnySerde(key), value: AnySerde(value))
    }

    // MARK: Internal forms, used by the DSL (serdes may come from the configuration)

    @inlinable
    mutating func addSource<Key, Value>(
        _ name: String, topics: [TopicName], key: AnySerde<Key>?, value: AnySerde<Value>?,
        timestamp: TimestampExtractor<Key, Value> = .configured
    ) throws {
        try checkUnread(topics, source: name)
        try add(NodeDefinition(
            name: name, role: .source(topics: topics), parents: [],
            input: nil, output: TypeSignature(Key.self, Value.self),
            makeContext: ForwardingNode<Key, Value>.makeContext,
            makeNode: { context, task in
                let node = SourceNode(
                    keySerde: try task.defaultSerdes.resolve(key, key: true, node: name),
                    valueSerde: try task.defaultSerdes.resolve(value, key: false, node: name),
                    context: context as! ProcessorContext<Key, Value>,
                    extractor: timestamp.resolved(default: task.defaultTimestampExtractor, clock: task.clock))
                let entry = SourceEntry(receive: { try node.process($0) }, eventTime: { try node.eventTime(of: $0) })
                return RuntimeNode(entry: entry)
            },
            attachChild: ForwardingNode<Key, Value>.attach))
    }

    @inlinable
    mutating func addSink<Key, Value>(
        _ name: String, target: SinkTarget<Key, Value>, parents: [String], key: AnySerde<Key>?, value: AnySerde<Value>?,
        partition: (@Sendable (Key, Value) -> Int32)? = nil
    ) throws {
        let description: NodeDefinition.SinkDescription
        switch target {
        case .topic(let topic): description = .topic(topic)
        case .extractor: description = .extractor
        }
        try add(NodeDefinition(
            name: name, role: .sink(description), parents: parents,
            input: TypeSignature(Key.self, Value.self), output: nil,
            makeContext: nil,
            makeNode: { _, task in
                let node = SinkNode(
                    target: target,
                    keySerde: try task.defaultSerdes.resolve(key, key: true, node: name),
                    valueSerde: try task.defaultSerdes.resolve(value, key: false, node: name),
                    task: task, partition: partition)
                let entry = NodeEntry<Record<Key, Value>> { try node.receive($0) }
                return RuntimeNode(entry: entry)
            },
            attachChild: nil))
    }

    /// Declares a repartition topic (by its unprefixed name): `partitions`, or as many as
    /// the input of the sub-topology writing it.
    @usableFromInline
    mutating func addInternalTopic(_ name: String, partitions: Int?) {
        addInternalTopic(name, partitions: partitions.map { .count($0) } ?? .asWriterInput)
    }

    /// Declares an internal topic (by its unprefixed name).
    mutating func addInternalTopic(_ name: String, partitions: InternalTopicPartitions) {
        internalTopics[name] = partitions
    }

    @usableFromInline
    func checkUnread(_ topics: [TopicName], source name: String) throws {
        guard !topics.isEmpty else { throw StreamsError(.topology, "source \(name) reads no topic") }
        for topic in topics {
            if let owner = nodes.first(where: { $0.sourceTopics.contains(topic) }) {
                throw StreamsError(.topology, "topic \(topic) is already read by source \(owner.name)")
            }
            if let global = globalStores.values.first(where: { TopicName.external($0.topic) == topic }) {
                throw StreamsError(.topology, "topic \(topic) is already read by global store \(global.store.name)")
            }
        }
    }

    /// Adds the store of a table read from `topic`, which is its changelog.
    @usableFromInline
    mutating func addTableStore<Key, Value>(_ builder: KeyValueStoreBuilder<Key, Value>, topic: String) throws {
        try addStore(builder.definition(changelog: .external(topic)))
    }

    mutating func addStore(_ store: StoreDefinition) throws {
        guard !store.name.isEmpty else { throw StreamsError(.topology, "a store name must not be empty") }
        guard stores[store.name] == nil, globalStores[store.name] == nil else { throw StreamsError(.topology, "a store named \(store.name) already exists") }
        if let timeToLive = store.timeToLive {
            guard store.kind == .keyValue else {
                throw StreamsError(.topology, "store \(store.name) is windowed: its retention bounds it, a time to live does not apply")
            }
            guard timeToLive >= .milliseconds(1) else {
                throw StreamsError(.topology, "store \(store.name): the time to live must be at least 1 ms, not \(timeToLive)")
            }
        }
        stores[store.name] = store
    }

    @usableFromInline
    mutating func add(_ node: NodeDefinition) throws {
        guard !node.name.isEmpty else { throw StreamsError(.topology, "a node name must not be empty") }
        guard indexByName[node.name] == nil else { throw StreamsError(.topology, "a node named \(node.name) already exists") }
        if case .processor(let names) = node.role, let unknown = names.first(where: { stores[$0] == nil && globalStores[$0] == nil }) {
            throw StreamsError(.topology, "processor \(node.name) uses store \(unknown), which was not added (add stores before their processors)")
        }
        if !node.isSource && node.parents.isEmpty {
            throw StreamsError(.topology, "node \(node.name) needs at least one parent")
        }
        for parentName in node.parents {
            guard let parentIndex = indexByName[parentName] else {
                throw StreamsError(.topology, "node \(node.name) names an unknown parent \(parentName)")
            }
            guard let output = nodes[parentIndex].output else {
                throw StreamsError(.topology, "node \(node.name) cannot follow sink \(parentName): sinks have no children")
            }
            if let input = node.input, input != output {
                throw StreamsError(
                    .topology, "node \(node.name) accepts \(input) but its parent \(parentName) forwards \(output)")
            }
        }
        indexByName[node.name] = nodes.count
        for parentName in node.parents { nodes[indexByName[parentName]!].children.append(node.name) }
        nodes.append(node)
    }

    /// Has the node `name` send old values with its table updates (a node downstream
    /// subtracts or retracts them).
    @usableFromInline
    mutating func enableSendingOldValues(_ name: String) throws {
        guard let index = indexByName[name] else { throw StreamsError(.topology, "no node named \(name) to send old values") }
        nodes[index].sendsOldValues = true
    }

    func node(named name: String) -> NodeDefinition? { indexByName[name].map { nodes[$0] } }
}
