/// A task: one partition of one sub-topology. Printed as Kafka Streams does (`0_3`).
public struct TaskID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var subtopology: Int
    public var partition: Int32

    public init(subtopology: Int, partition: Int32) {
        self.subtopology = subtopology
        self.partition = partition
    }

    public var description: String { "\(subtopology)_\(partition)" }

    public static func < (lhs: TaskID, rhs: TaskID) -> Bool {
        (lhs.subtopology, lhs.partition) < (rhs.subtopology, rhs.partition)
    }
}
