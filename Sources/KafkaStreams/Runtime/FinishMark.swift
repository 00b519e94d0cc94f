import RdKafka

/// How the members of a group tell each other that a task has finished its input in a
/// bounded run that closes its windows (``BoundedRun/closesWindowsAtEnd``): the task
/// commits its marking partition (the partition of its first source topic, by name) with
/// this offset metadata, in the commit (or transaction) that carries its final results.
/// Every instance's ``BoundedRunMonitor`` reads the group's committed offsets and asks for
/// the next sub-topology level only once every task of the levels before, wherever it
/// ran, carries the mark; so a window fed by windows of another instance closes only after
/// their final results are in.
///
/// A later commit of the partition without metadata (new records processed, a reset)
/// clears the mark. A mark left by an earlier run on a partition that got nothing new is
/// true still: its task has nothing more to finish.
enum FinishMark {
    static let metadata = "kafka-streams-swift: input finished"

    /// The partition a task of the sub-topology reading `topics` (resolved names) marks.
    static func markingTopic(of topics: some Sequence<String>) -> String? { topics.min() }
}

extension ExecutionPlan {
    /// The partitions the tasks of each sub-topology mark when finished, by sub-topology id.
    func finishMarkPartitions(counts: [String: Int], applicationID: String) -> [Int: [TopicPartition]] {
        var marked: [Int: [TopicPartition]] = [:]
        for subtopology in subtopologies {
            let topics = subtopology.sourceTopics.map { $0.resolved(applicationID: applicationID) }
            guard let topic = FinishMark.markingTopic(of: topics) else { continue }
            let partitions = topics.compactMap { counts[$0] }.max() ?? 0
            marked[subtopology.id] = (0..<Int32(partitions)).map { TopicPartition(topic: topic, partition: $0) }
        }
        return marked
    }
}
