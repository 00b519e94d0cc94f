/// What one stream thread of this instance runs now (Kafka Streams' `ThreadMetadata`).
public struct ThreadMetadata: Sendable, Hashable {
    /// Where a stream thread stands in its group.
    public enum State: Sendable, Hashable {
        /// Joining the group, or rejoining after a failure: no assignment yet.
        case starting
        /// The group has given the thread an assignment (possibly empty, when the group
        /// has more threads than tasks) and its tasks have restored.
        case running
    }

    /// The thread's name, as in logs and metrics (`<applicationID>-<instance>-StreamThread-<n>`).
    public let threadName: String
    public let state: State
    /// The tasks the group gave the thread.
    public let activeTasks: Set<TaskID>
}
