/// A readable account of a topology: its sub-topologies and, in each, sources (with
/// topics), processors (with stores) and sinks (with topics), and how they connect.
///
/// `description` prints it as Kafka Streams' `Topology.describe()` does; ``mermaid`` draws
/// it as a Mermaid flowchart.
public struct TopologyDescription: Sendable, CustomStringConvertible {
    public struct Node: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case source(topics: [String])
            case processor(stores: [String])
            /// `nil` when a topic is chosen per record.
            case sink(topic: String?)
        }

        public let name: String
        public let kind: Kind
        public let predecessors: [String]
        public let successors: [String]
    }

    public struct Subtopology: Sendable, Hashable {
        public let id: Int
        public let nodes: [Node]
    }

    public let subtopologies: [Subtopology]

    init(_ topology: Topology) {
        subtopologies = topology.subtopologies().map { subtopology in
            Subtopology(id: subtopology.id, nodes: subtopology.nodeNames.compactMap(topology.node(named:)).map { node in
                let kind: Node.Kind
                switch node.role {
                case .source(let topics): kind = .source(topics: topics.map(\.description))
                case .processor(let stores): kind = .processor(stores: stores)
                case .sink(.topic(let topic)): kind = .sink(topic: topic.description)
                case .sink(.extractor): kind = .sink(topic: nil)
                }
                return Node(name: node.name, kind: kind, predecessors: node.parents, successors: node.children)
            })
        }
    }

    public var description: String {
        var text = "Topologies:\n"
        for subtopology in subtopologies {
            text += "   Sub-topology: \(subtopology.id)\n"
            for node in subtopology.nodes {
                switch node.kind {
                case .source(let topics): text += "    Source: \(node.name) (topics: [\(topics.joined(separator: ", "))])\n"
                case .processor(let stores): text += "    Processor: \(node.name) (stores: [\(stores.joined(separator: ", "))])\n"
                case .sink(let topic): text += "    Sink: \(node.name) (\(topic.map { "topic: \($0)" } ?? "topic extractor"))\n"
                }
                if case .sink = node.kind {} else {
                    text += "      --> \(node.successors.isEmpty ? "none" : node.successors.joined(separator: ", "))\n"
                }
                if case .source = node.kind {} else {
                    text += "      <-- \(node.predecessors.joined(separator: ", "))\n"
                }
            }
            text += "\n"
        }
        return text
    }

    /// The topology as a Mermaid flowchart: one subgraph per sub-topology, topics as
    /// stadium-shaped nodes between them.
    public var mermaid: String {
        var lines = ["flowchart TD"]
        var topics: Set<String> = []
        func id(_ name: String) -> String {
            String(name.unicodeScalars.map { scalar in
                isMermaidIdentifier(scalar) ? Character(scalar) : "_"
            })
        }
        func topicNode(_ topic: String) -> String {
            let nodeID = "topic_" + id(topic)
            if topics.insert(topic).inserted { lines.append("    \(nodeID)([\"\(topic)\"])") }
            return nodeID
        }
        var edges: [String] = []
        for subtopology in subtopologies {
            lines.append("    subgraph sub\(subtopology.id)[\"Sub-topology \(subtopology.id)\"]")
            for node in subtopology.nodes {
                let shape: String
                switch node.kind {
                case .source: shape = "[/\"\(node.name)\"/]"
                case .processor: shape = "[\"\(node.name)\"]"
                case .sink: shape = "[\\\"\(node.name)\"\\]"
                }
                lines.append("        \(id(node.name))\(shape)")
                for successor in node.successors { edges.append("    \(id(node.name)) --> \(id(successor))") }
            }
            lines.append("    end")
        }
        for subtopology in subtopologies {
            for node in subtopology.nodes {
                switch node.kind {
                case .source(let topics): for topic in topics { edges.append("    \(topicNode(topic)) --> \(id(node.name))") }
                case .sink(let topic?): edges.append("    \(id(node.name)) --> \(topicNode(topic))")
                default: break
                }
            }
        }
        return (lines + edges).joined(separator: "\n") + "\n"
    }
}

/// Mermaid node ids are safest as ASCII letters, digits and underscores.
private func isMermaidIdentifier(_ scalar: Unicode.Scalar) -> Bool {
    scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_")
}

extension Topology {
    /// Sub-topologies, sources, processors and sinks, printable as Kafka Streams prints
    /// them or as a Mermaid diagram.
    public func describe() -> TopologyDescription { TopologyDescription(self) }
}
