/// One node of a ``Topology``, with the closures that create its runtime form for a task.
/// The closures keep the node's key and value types, so a task's graph is wired with
/// typed connections and records flow without boxing.
@usableFromInline
struct NodeDefinition: Sendable {
    @usableFromInline
    enum Role: Sendable {
        case source(topics: [TopicName])
        case processor(stores: [String])
        case sink(SinkDescription)
    }

    @usableFromInline
    enum SinkDescription: Sendable, Hashable {
        case topic(TopicName)
        case extractor
    }

    let name: String
    let role: Role
    var parents: [String]
    var children: [String] = []
    /// Whether the node's table updates carry old values (``Change/oldValue``): a node
    /// downstream asked for them.
    var sendsOldValues = false
    /// What the node accepts (`nil` for sources).
    let input: TypeSignature?
    /// What the node forwards (`nil` for sinks).
    let output: TypeSignature?
    /// Creates the context the node forwards through (`nil` for sinks), given the node's
    /// name and whether it sends old values.
    let makeContext: (@Sendable (TaskContext, String, Bool) -> AnyObject)?
    /// Creates the runtime node, given its own context.
    let makeNode: @Sendable (AnyObject?, TaskContext) throws -> RuntimeNode
    /// Connects a child's entry point to this node's context.
    let attachChild: (@Sendable (AnyObject, AnyObject, String) throws -> Void)?

    @usableFromInline
    init(
        name: String, role: Role, parents: [String], input: TypeSignature?, output: TypeSignature?,
        makeContext: (@Sendable (TaskContext, String, Bool) -> AnyObject)?,
        makeNode: @escaping @Sendable (AnyObject?, TaskContext) throws -> RuntimeNode,
        attachChild: (@Sendable (AnyObject, AnyObject, String) throws -> Void)?
    ) {
        self.name = name
        self.role = role
        self.parents = parents
        self.input = input
        self.output = output
        self.makeContext = makeContext
        self.makeNode = makeNode
        self.attachChild = attachChild
    }

    var isSource: Bool { if case .source = role { true } else { false } }

    var sourceTopics: [TopicName] { if case .source(let topics) = role { topics } else { [] } }

    var storeNames: [String] { if case .processor(let stores) = role { stores } else { [] } }

    var sinkTopic: TopicName? { if case .sink(.topic(let topic)) = role { topic } else { nil } }
}

/// A node as created for one task.
@usableFromInline
struct RuntimeNode {
    /// Where records enter the node: a `NodeEntry<PolledRecord>` for a source, a
    /// `NodeEntry<Record<Key, Value>>` for the others.
    let entry: AnyObject
    let closable: ClosableNode?

    @usableFromInline
    init(entry: AnyObject, closable: ClosableNode? = nil) {
        self.entry = entry
        self.closable = closable
    }
}

/// A node's entry point, made in specialized code. A class, so that it passes through
/// untyped wiring code and is cast back as it was: a closure cast back from `Any` is
/// wrapped in conversion thunks, which would run on every record.
@usableFromInline
final class NodeEntry<Input> {
    @usableFromInline let receive: (Input) throws -> Void

    @usableFromInline
    init(_ receive: @escaping (Input) throws -> Void) {
        self.receive = receive
    }
}

/// The closures of a node that forwards `(Key, Value)`.
@usableFromInline
enum ForwardingNode<Key, Value> {
    @usableFromInline
    static func makeContext(task: TaskContext, name: String, sendsOldValues: Bool) -> AnyObject {
        ProcessorContext<Key, Value>(task: task, nodeName: name, sendsOldValues: sendsOldValues)
    }

    @usableFromInline
    static func attach(context: AnyObject, child entry: AnyObject, childName: String) throws {
        guard let receive = (entry as? NodeEntry<Record<Key, Value>>)?.receive else {
            throw StreamsError(.topology, "node \(childName) does not accept records of type (\(Key.self), \(Value.self))")
        }
        (context as! ProcessorContext<Key, Value>).addChild(receive, named: childName)
    }
}
