import RdKafka
import Synchronization

/// The end of a bounded run's input when it closes its windows
/// (``BoundedRun/closesWindowsAtEnd``), sub-topology level by level (see
/// ``Topology/levels(of:)``): once everything is processed and committed, the monitor asks
/// for level 0; each stream thread finishes its tasks of that level (their final window
/// results go out), commits them with a ``FinishMark``, and acknowledges; once all have,
/// every task of the level in the group (on any instance) carries its mark, and what they
/// sent is processed and committed, the monitor asks for level 1, and so on.
final class InputFinish: Sendable {
    /// Each sub-topology's level, by id.
    let levels: [Int: Int]
    let highestLevel: Int
    /// The partitions the tasks of each level mark once finished (see ``FinishMark``).
    let markedPartitions: [Int: [TopicPartition]]
    private let threadNames: Set<String>
    private let requested = Atomic<Int>(-1)
    /// The level each thread has finished its tasks of and committed, and the tasks.
    private let acknowledged = Mutex<(levels: [String: Int], tasks: Set<TaskID>)>(([:], []))

    /// - Parameter marked: the partitions each sub-topology's tasks mark, by its id.
    init(levels: [Int: Int], marked: [Int: [TopicPartition]] = [:], threadNames: [String]) {
        self.levels = levels
        highestLevel = levels.values.max() ?? 0
        markedPartitions = marked.reduce(into: [:]) { byLevel, entry in byLevel[levels[entry.key] ?? 0, default: []] += entry.value }
        self.threadNames = Set(threadNames)
    }

    /// The partitions the tasks of levels up to `level` mark.
    func markedPartitions(through level: Int) -> [TopicPartition] {
        markedPartitions.filter { $0.key <= level }.flatMap(\.value)
    }

    func level(of task: TaskID) -> Int { levels[task.subtopology] ?? 0 }

    /// The highest level the threads are to finish (-1: none yet).
    var requestedLevel: Int { requested.load(ordering: .acquiring) }

    func request(_ level: Int) { requested.store(level, ordering: .releasing) }

    /// A thread has finished its tasks of every level up to `level` (`tasks`) and committed.
    func acknowledge(_ level: Int, thread: String, tasks: Set<TaskID>) {
        acknowledged.withLock {
            $0.levels[thread] = level
            $0.tasks.formUnion(tasks)
        }
    }

    /// Whether every thread has acknowledged `level`.
    func allAcknowledged(_ level: Int) -> Bool {
        acknowledged.withLock { state in threadNames.allSatisfy { (state.levels[$0] ?? -1) >= level } }
    }

    /// The tasks finished in this instance so far.
    var finishedTasks: Set<TaskID> { acknowledged.withLock { $0.tasks } }
}
