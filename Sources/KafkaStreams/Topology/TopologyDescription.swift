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

    /// A state store: its name, what it holds, and where it is kept.
    public struct Store: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case keyValue
            /// Time windows of this size, each kept this long after its start.
            case window(sizeMs: Int64, retentionMs: Int64)
            /// Sessions, each kept this long after its end.
            case session(retentionMs: Int64)
        }

        public let name: String
        public let kind: Kind
        /// In RocksDB (rather than in memory).
        public let persistent: Bool
        /// The topic it is restored from, if any (internal ones without the application id).
        public let changelog: String?

        /// What the store is, in a few words: "window store, RocksDB: 1 min windows kept 10 min".
        public var summary: String {
            let medium = persistent ? "RocksDB" : "in memory"
            switch kind {
            case .keyValue: return "key-value store, \(medium)"
            case .window(let size, let retention):
                return "window store, \(medium): \(Self.span(size)) windows kept \(Self.span(retention))"
            case .session(let retention): return "session store, \(medium): sessions kept \(Self.span(retention))"
            }
        }

        /// Milliseconds in the largest whole unit that states them exactly.
        static func span(_ milliseconds: Int64) -> String {
            for (unit, size) in [("h", Int64(3_600_000)), ("min", 60_000), ("s", 1000)] where milliseconds >= size && milliseconds % size == 0 {
                return "\(milliseconds / size) \(unit)"
            }
            return "\(milliseconds) ms"
        }
    }

    /// A global store (a global table's): every instance reads all of `topic` into it,
    /// outside any task.
    public struct GlobalStore: Sendable, Hashable {
        /// Numbered after the sub-topologies.
        public let id: Int
        public let store: String
        public let topic: String
        public let source: String
        public let processor: String
    }

    public let subtopologies: [Subtopology]
    public let globalStores: [GlobalStore]
    /// Every state store of the topology (global ones included), by name.
    public let stores: [Store]

    init(_ topology: Topology) {
        let definitions = Array(topology.stores.values) + topology.globalStores.values.map(\.store)
        stores = definitions.sorted { $0.name < $1.name }.map { definition in
            Store(name: definition.name, kind: definition.kind, persistent: definition.persistent, changelog: definition.changelog?.description)
        }
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
        let firstID = subtopologies.count
        globalStores = topology.globalStores.values.sorted { $0.store.name < $1.store.name }.enumerated().map { index, global in
            GlobalStore(id: firstID + index, store: global.store.name, topic: global.topic, source: global.sourceName, processor: global.processorName)
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
        for global in globalStores {
            text += "   Sub-topology: \(global.id) for global store (will not generate tasks)\n"
            text += "    Source: \(global.source) (topics: [\(global.topic)])\n      --> \(global.processor)\n"
            text += "    Processor: \(global.processor) (stores: [\(global.store)])\n      --> none\n      <-- \(global.source)\n\n"
        }
        return text
    }

    /// The topology as a Mermaid flowchart: one subgraph per sub-topology, topics as
    /// stadium-shaped nodes between them, stores as cylinders (saying what they hold) tied
    /// to their processors by dotted lines.
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
                if case .processor(let names) = node.kind {
                    for name in names { edges.append("    \(id(node.name)) -.- store_\(id(name))") }
                }
            }
            lines.append("    end")
        }
        for global in globalStores {
            lines.append("    subgraph sub\(global.id)[\"Global store \(global.store)\"]")
            lines.append("        \(id(global.source))[/\"\(global.source)\"/]")
            lines.append("        \(id(global.processor))[\"\(global.processor)\"]")
            lines.append("    end")
            edges.append("    \(topicNode(global.topic)) --> \(id(global.source))")
            edges.append("    \(id(global.source)) --> \(id(global.processor))")
            edges.append("    \(id(global.processor)) -.- store_\(id(global.store))")
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
        for store in stores { lines.append("    store_\(id(store.name))[(\"\(store.name)<br/>\(store.summary)\")]") }
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
