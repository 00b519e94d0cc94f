import Synchronization

/// The end of a bounded run's input when it closes its windows
/// (``BoundedRun/closesWindowsAtEnd``), sub-topology level by level (see
/// ``Topology/levels(of:)``): once everything is processed and committed, the monitor asks
/// for level 0; each stream thread finishes its tasks of that level (their final window
/// results go out), commits, and acknowledges; once all have and what they sent is
/// processed and committed, the monitor asks for level 1, and so on.
final class InputFinish: Sendable {
    /// Each sub-topology's level, by id.
    let levels: [Int: Int]
    let highestLevel: Int
    private let threadNames: Set<String>
    private let requested = Atomic<Int>(-1)
    /// The level each thread has finished its tasks of and committed, and the tasks.
    private let acknowledged = Mutex<(levels: [String: Int], tasks: Set<TaskID>)>(([:], []))

    init(levels: [Int: Int], threadNames: [String]) {
        self.levels = levels
        highestLevel = levels.values.max() ?? 0
        self.threadNames = Set(threadNames)
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
