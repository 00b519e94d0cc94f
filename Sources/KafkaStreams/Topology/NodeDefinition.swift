/// One node of a ``Topology``, with the closures that create its runtime form for a task.
/// The closures keep the node's key and value types, so a task's graph is wired with
/// typed connections and records flow without boxing.
struct NodeDefinition: Sendable {
    enum Role: Sendable {
        case source(topics: [TopicName])
        case processor(stores: [String])
        case sink(SinkDescription)
    }

    enum SinkDescription: Sendable, Hashable {
        case topic(TopicName)
        case extractor
    }

    let name: String
    let role: Role
    var parents: [String]
    var children: [String] = []
    /// What the node accepts (`nil` for sources).
    let input: TypeSignature?
    /// What the node forwards (`nil` for sinks).
    let output: TypeSignature?
    /// Creates the context the node forwards through (`nil` for sinks).
    let makeContext: (@Sendable (TaskContext, String) -> AnyObject)?
    /// Creates the runtime node, given its own context.
    let makeNode: @Sendable (AnyObject?, TaskContext) throws -> AnyObject
    /// Connects a child's runtime node to this node's context.
    let attachChild: (@Sendable (AnyObject, AnyObject, String) throws -> Void)?

    var isSource: Bool { if case .source = role { true } else { false } }

    var sourceTopics: [TopicName] { if case .source(let topics) = role { topics } else { [] } }

    var sinkTopic: TopicName? { if case .sink(.topic(let topic)) = role { topic } else { nil } }
}

/// The closures of a node that forwards `(Key, Value)`.
enum ForwardingNode<Key, Value> {
    static func makeContext(task: TaskContext, name: String) -> AnyObject {
        ProcessorContext<Key, Value>(task: task, nodeName: name)
    }

    static func attach(context: AnyObject, child: AnyObject, childName: String) throws {
        guard let child = child as? any RecordReceiver<Key, Value> else {
            throw StreamsError(.topology, "node \(childName) does not accept records of type (\(Key.self), \(Value.self))")
        }
        (context as! ProcessorContext<Key, Value>).addChild(child, named: childName)
    }
}
