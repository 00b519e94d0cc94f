/// A connected part of a topology: the nodes linked by parent/child edges or by a store
/// they share. Repartition topics split a topology into several, each with its own tasks.
struct Subtopology: Sendable {
    let id: Int
    /// Node names in the order they were added.
    let nodeNames: [String]
    let sourceTopics: [TopicName]
    let sinkTopics: [TopicName]
    /// The stores its processors use, in order of first use (global ones aside).
    let storeNames: [String]
}

extension Topology {
    /// The sub-topologies, numbered in the order of their first node.
    func subtopologies() -> [Subtopology] {
        var root = Array(nodes.indices)
        func find(_ index: Int) -> Int {
            var index = index
            while root[index] != index {
                root[index] = root[root[index]]
                index = root[index]
            }
            return index
        }
        func join(_ first: Int, _ second: Int) {
            let (a, b) = (find(first), find(second))
            if a != b { root[max(a, b)] = min(a, b) }
        }
        // Processors sharing a store share its tasks too, as in Kafka Streams: one store
        // instance per partition, so their inputs must be co-partitioned.
        var storeUser: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for parent in node.parents {
                guard let parentIndex = nodes.firstIndex(where: { $0.name == parent }) else { continue }
                join(index, parentIndex)
            }
            // A global store is read by any task: it ties no sub-topologies together.
            for store in node.storeNames where globalStores[store] == nil {
                if let other = storeUser[store] { join(index, other) } else { storeUser[store] = index }
            }
        }
        var groups: [Int: [Int]] = [:]
        var order: [Int] = []
        for index in nodes.indices {
            let group = find(index)
            if groups[group] == nil { order.append(group) }
            groups[group, default: []].append(index)
        }
        return order.enumerated().map { id, group in
            let members = groups[group]!.map { nodes[$0] }
            return Subtopology(
                id: id,
                nodeNames: members.map(\.name),
                sourceTopics: members.flatMap(\.sourceTopics),
                sinkTopics: members.compactMap(\.sinkTopic),
                storeNames: members.flatMap(\.storeNames).reduce(into: []) { names, name in
                    if globalStores[name] == nil && !names.contains(name) { names.append(name) }
                })
        }
    }

    /// Each sub-topology's level, by id: 0 for one that reads no internal topic another
    /// writes, otherwise one more than the highest level writing what it reads. The input
    /// ends level by level, so a task's upstream tasks have finished when it finishes. (A
    /// cycle, as a foreign-key join's topics make, is cut after as many levels as there are
    /// sub-topologies.)
    static func levels(of subtopologies: [Subtopology]) -> [Int: Int] {
        var writers: [TopicName: [Int]] = [:]
        for subtopology in subtopologies {
            for topic in subtopology.sinkTopics where topic.isInternal { writers[topic, default: []].append(subtopology.id) }
        }
        var levels = Dictionary(uniqueKeysWithValues: subtopologies.map { ($0.id, 0) })
        for _ in subtopologies.indices {
            var changed = false
            for subtopology in subtopologies {
                let writtenBy = subtopology.sourceTopics.flatMap { writers[$0] ?? [] }.filter { $0 != subtopology.id }
                let level = min(subtopologies.count, (writtenBy.compactMap { levels[$0] }.max() ?? -1) + 1)
                if level > levels[subtopology.id]! {
                    levels[subtopology.id] = level
                    changed = true
                }
            }
            if !changed { break }
        }
        return levels
    }

    /// Every topic a source reads, with the sub-topology reading it.
    func sourceTopicOwners() -> [TopicName: Int] {
        var owners: [TopicName: Int] = [:]
        for subtopology in subtopologies() {
            for topic in subtopology.sourceTopics { owners[topic] = subtopology.id }
        }
        return owners
    }
}
