import RdKafka

/// The one commit sequence of the stream threads and the test driver, so the driver runs
/// what production runs: flush the tasks' record caches (downstream and to the
/// changelogs), then let the caller make the outputs durable, checkpoint the stores and
/// commit the input offsets in the order its guarantee needs, then mark the offsets
/// committed.
///
/// - At-least-once: flush the producer → checkpoint → commit offsets.
/// - Exactly-once: flush the producer → send the offsets → commit the transaction →
///   checkpoint (stores never hold a write whose transaction might abort).
/// - Test driver: outputs are acknowledged at once → checkpoint.
enum CommitSequence {
    /// - Parameters:
    ///   - beforeCheckpoint: called before each task's checkpoint (a crash point in the
    ///     simulation).
    ///   - makeDurable: given the offsets processed since the last commit and the
    ///     checkpoint step; returns whether the offsets are committed.
    static func run(
        _ tasks: [StreamTask], beforeCheckpoint: (StreamTask) throws -> Void = { _ in },
        makeDurable: (_ offsets: [TopicPartitionOffset], _ checkpoint: () throws -> Void) throws -> Bool
    ) throws {
        for task in tasks { try task.flushCaches() }
        // After the flush: its outputs are part of this commit, and the offsets are those
        // of records whose every effect is now on its way.
        let committing = tasks.filter { !$0.uncommittedOffsets.isEmpty }
        let offsets = committing.flatMap(\.uncommittedOffsets)
        let committed = try withoutActuallyEscaping(beforeCheckpoint) { beforeCheckpoint in
            try makeDurable(offsets) {
                for task in tasks where !task.stores.isEmpty {
                    try beforeCheckpoint(task)
                    try task.checkpointStores()
                }
            }
        }
        if committed {
            for task in committing { task.markCommitted() }
        }
    }
}
