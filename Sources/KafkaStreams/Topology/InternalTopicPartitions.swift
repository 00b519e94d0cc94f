/// How many partitions an internal topic (written by one sub-topology, read by another)
/// gets when the application creates it.
enum InternalTopicPartitions: Sendable, Hashable {
    /// A given count.
    case count(Int)
    /// As many as the input of the sub-topology writing it: a repartition topic's default.
    case asWriterInput
    /// As many as the other input of the sub-topology reading it, with which it is read
    /// partition by partition: a foreign-key join's subscription and response topics.
    case asReaderInput
}

extension ExecutionPlan {
    /// The partition count of every internal topic a sink writes, given the counts of the
    /// topics that exist (`existing`, by full name). One internal topic's count may come
    /// from another's (a repartition topic read by a sub-topology that writes another), so
    /// counts are taken from the topics already counted until no more can be.
    func internalTopicPartitions(existing: [String: Int]) -> [TopicName: Int] {
        var writers: [TopicName: Subtopology] = [:]
        var readers: [TopicName: Subtopology] = [:]
        for subtopology in subtopologies {
            for topic in subtopology.sinkTopics where topic.isInternal { writers[topic] = subtopology }
            for topic in subtopology.sourceTopics where topic.isInternal { readers[topic] = subtopology }
        }
        var counts: [TopicName: Int] = [:]
        func known(_ topic: TopicName) -> Int? { topic.isInternal ? counts[topic] : existing[topic.description] }
        var progressed = true
        while progressed {
            progressed = false
            for (topic, writer) in writers where counts[topic] == nil {
                let count: Int?
                switch topology.internalTopics[topic.description] ?? .asWriterInput {
                case .count(let given): count = given
                case .asWriterInput: count = writer.sourceTopics.compactMap(known).max()
                case .asReaderInput: count = readers[topic].flatMap { reader in reader.sourceTopics.filter { $0 != topic }.compactMap(known).max() }
                }
                if let count {
                    counts[topic] = count
                    progressed = true
                }
            }
        }
        // A topic nothing gives a count to (its writer reads nothing countable) gets one.
        for topic in writers.keys where counts[topic] == nil { counts[topic] = 1 }
        return counts
    }
}
