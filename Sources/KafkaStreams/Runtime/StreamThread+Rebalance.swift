import Logging
import RdKafka

// Rebalances (delivered inside poll, on the stream thread) and the tasks they create and
// close.
extension StreamThread {
    func rebalanced(_ event: RebalanceEvent) {
        switch event {
        case .assigned(let partitions):
            assigned.formUnion(partitions)
            do {
                try createTasks(for: partitions)
            } catch {
                logger.error("cannot create tasks: \(error)")
                rebalanceFailure = rebalanceFailure ?? error
            }
        case .revoked(let partitions):
            // Under exactly-once this commits the open transaction, for every task.
            do {
                if !crashRequested.load(ordering: .acquiring) && rebalanceFailure == nil {
                    do {
                        try commit(reason: "revocation")
                    } catch {
                        guard let failure = abortableFailure(in: error) else { throw error }
                        try recover(from: failure, dropping: Set(partitions))
                    }
                }
            } catch {
                logger.error("commit before revocation failed: \(error)")
                rebalanceFailure = rebalanceFailure ?? error
            }
            assigned.subtract(partitions)
            pausedAtEnd.subtract(partitions)
            forgetLag(of: partitions)
            closeTasks(owning: partitions)
        case .lost(let partitions):
            logger.warning("partitions lost, closing their tasks without commit", metadata: ["partitions": "\(partitions)"])
            assigned.subtract(partitions)
            pausedAtEnd.subtract(partitions)
            forgetLag(of: partitions)
            closeTasks(owning: partitions)
            // The open transaction holds the lost tasks' writes: it must not commit.
            if transactions != nil && rebalanceFailure == nil {
                do {
                    try recover(from: KafkaError(code: .assignmentLost, message: "partitions lost", classification: .abortable))
                } catch {
                    rebalanceFailure = error
                }
            }
        }
    }

    /// Creates the tasks of newly assigned partitions and restores their stores together
    /// before any of them sees a record. Runs inside the rebalance callback, so the
    /// thread's poll loop (and the group's next rebalance) waits for the restore.
    func createTasks(for partitions: [TopicPartition]) throws {
        guard let collector else { return }
        var created: [StreamTask] = []
        do {
            for partition in partitions {
                guard let subtopology = plan.subtopologyReading[partition.topic] else { continue }
                let id = TaskID(subtopology: subtopology.id, partition: partition.partition)
                if let existing = tasks[id] ?? created.first(where: { $0.id == id }) {
                    taskByPartition[partition] = existing
                    continue
                }
                let context = TaskContext(
                    id: id, applicationID: configuration.applicationID, logger: logger,
                    clock: WallClock { [clients] in clients.currentTimeMilliseconds() }, collector: collector,
                    defaultSerdes: DefaultSerdes(key: configuration.defaultKeySerde, value: configuration.defaultValueSerde),
                    counters: counters, recordCache: recordCache, defaultTimestampExtractor: configuration.defaultTimestampExtractor)
                context.stores = globalStores
                let task = try StreamTask(
                    subtopology: subtopology, topology: plan.topology, context: context, handlers: configuration.errorHandlers,
                    stateDirectory: "\(configuration.stateDirectory)/\(configuration.applicationID)", resources: resources,
                    queueing: configuration.queueSettings, leases: leases)
                task.metrics = TaskMetrics(applicationID: configuration.applicationID, thread: name, task: id)
                created.append(task)
                // Queries find the global stores under the global-state thread's entry.
                registry.register(id, stores: context.stores.filter { globalStores[$0.key] == nil })
                taskByPartition[partition] = task
            }
            try restorer?.restore(created.map { (stores: $0.stores, task: $0.id) })
            for task in created { try task.stores.noteRestored() }
        } catch {
            for task in created {
                registry.remove(task.id)
                task.close()
            }
            taskByPartition = taskByPartition.filter { tasks[$0.value.id] != nil }
            lastRouted = nil
            throw error
        }
        for task in created {
            registry.markRestored(task.id)
            tasks[task.id] = task
            logger.debug("task \(task.id) created")
        }
        metrics.tasksCreated.increment(by: created.count)
        lastRouted = nil
        publishTasks()
        // Here rather than at the assignment: a rewind after a failed first attempt
        // creates the tasks again.
        hasRestoredAssignment.store(true, ordering: .releasing)
        // Assigned while paused: nothing is fetched until the application resumes.
        if processingPaused { try consumer?.pause(partitions) }
    }

    private func publishTasks() {
        orderedTasks = tasks.keys.sorted().compactMap { tasks[$0] }
        queueingTasks = orderedTasks.filter(\.queuesRecords)
        let ids = Set(tasks.keys)
        published.withLock { $0 = ids }
    }

    private func closeTasks(owning partitions: [TopicPartition]) {
        closeTasks(Set(partitions.compactMap { taskByPartition[$0]?.id }))
    }

    func closeTasks(_ ids: some Sequence<TaskID>) {
        for id in Array(ids) {
            guard let task = tasks.removeValue(forKey: id) else { continue }
            registry.remove(id)
            // A paused partition stays paused in the consumer: the next task of it (after a
            // rewind, or on this member after a rebalance) starts with an empty queue.
            let paused = task.close()
            if !paused.isEmpty { try? consumer?.resume(paused) }
            metrics.tasksClosed.increment()
            // Finished again if it comes back: its mark may not have been committed.
            finishedTasks.remove(id)
            logger.debug("task \(id) closed")
        }
        taskByPartition = taskByPartition.filter { tasks[$0.value.id] != nil }
        lastRouted = nil
        publishTasks()
    }
}
