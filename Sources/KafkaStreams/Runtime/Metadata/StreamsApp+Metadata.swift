// Which instance holds a key: Kafka Streams' `queryMetadataForKey` and `metadataForAllStreamsClients`.
extension StreamsApp {
    /// Which instance holds `key` in the store called `store`, and the key's partition:
    /// query that instance (itself, or another through the endpoint it declared in
    /// ``StreamsConfiguration/applicationServer``).
    ///
    /// The partition is the one Kafka's default partitioner (murmur2, as the stream
    /// threads' producers use) gives the key's bytes, so `keySerde` must be the serde the
    /// store's input was written with (the grouping key's, for an aggregation). Records
    /// written by a producer with another partitioner land elsewhere.
    ///
    /// The answer is as fresh as the instances' announcements: each instance announces
    /// its tasks within a tenth of a second of a rebalance and reads the others' as they
    /// come, so for a moment after a rebalance the answer may still name the previous
    /// owner, whose query then fails with ``StoreUnavailableError`` (`.notHosted` or
    /// `.closed`): ask again.
    ///
    /// - Throws: ``StreamsError`` of kind `.configuration` without an application server,
    ///   `.topology` for an unknown store or a global one (every instance holds all of a
    ///   global store: query this one); ``StoreUnavailableError`` with reason
    ///   ``StoreUnavailableError/Reason/rebalancing`` when no running instance holds the
    ///   key's partition now (the application is starting, or a rebalance is under way).
    public func metadata<Key>(forKey key: Key, store: String, keySerde: some Serde<Key>) throws -> KeyQueryMetadata {
        let (directory, layout) = try directoryAndLayout(of: store)
        guard let keyBytes = try keySerde.serialize(key) else {
            throw StreamsError(.configuration, "a null key has no partition: store \(store) holds none")
        }
        let partition = Murmur2.partition(of: keyBytes, partitions: layout.partitions)
        let task = TaskID(subtopology: layout.subtopology, partition: partition)
        guard let host = directory.owners()[task] else { throw StoreUnavailableError(store: store, reason: .rebalancing) }
        return KeyQueryMetadata(activeHost: host, partition: partition)
    }

    /// Every running instance of the application with its tasks and their stores, as the
    /// instances last announced them (see ``metadata(forKey:store:keySerde:)``): empty
    /// before this instance reads the announcements.
    ///
    /// - Throws: ``StreamsError`` of kind `.configuration` without an application server.
    public func allMetadata() throws -> [StreamsMetadata] {
        guard let directory = directory.withLock({ $0 }) else { throw Self.noDirectory(applicationServer: configuration.applicationServer) }
        let layout = storeTasks.withLock { $0 }
        return directory.instances().map { instance in
            let subtopologies = Set(instance.tasks.map(\.subtopology))
            let stores = layout.filter { subtopologies.contains($0.value.subtopology) }.keys
            return StreamsMetadata(hostInfo: instance.host, stateStoreNames: Set(stores), activeTasks: instance.tasks)
        }
    }

    /// The running instances that hold a part of the store called `store`, each with its
    /// tasks of that store only.
    ///
    /// - Throws: as ``metadata(forKey:store:keySerde:)``, but never for a rebalance.
    public func allMetadata(store: String) throws -> [StreamsMetadata] {
        let (directory, layout) = try directoryAndLayout(of: store)
        return directory.instances().compactMap { instance in
            let tasks = instance.tasks.filter { $0.subtopology == layout.subtopology }
            guard !tasks.isEmpty else { return nil }
            return StreamsMetadata(hostInfo: instance.host, stateStoreNames: [store], activeTasks: tasks)
        }
    }

    private func directoryAndLayout(of store: String) throws -> (InstanceDirectory, (subtopology: Int, partitions: Int)) {
        guard let directory = directory.withLock({ $0 }) else { throw Self.noDirectory(applicationServer: configuration.applicationServer) }
        guard let layout = storeTasks.withLock({ $0[store] }) else {
            let known = storeTasks.withLock { $0.keys.sorted() }
            throw StreamsError(.topology, "no task-local store named \(store) (stores: \(known); a global store is whole on every instance)")
        }
        return (directory, layout)
    }

    private static func noDirectory(applicationServer: String?) -> StreamsError {
        applicationServer == nil
            ? StreamsError(.configuration, "set StreamsConfiguration.applicationServer to learn which instance holds a key")
            : StreamsError(.configuration, "the application is not running: instances are known only while it runs")
    }

    /// Starts announcing this instance's tasks and reading the others', when the
    /// configuration declares an application server.
    func startDirectory(clientID: String, partitionCounts: [String: Int]) async throws -> InstanceDirectory? {
        guard let server = configuration.applicationServer, let endpoint = HostInfo(parsing: server) else { return nil }
        storeTasks.withLock { $0 = plan.storeTasks(partitionCounts: partitionCounts, applicationID: configuration.applicationID) }
        let directory = InstanceDirectory(
            configuration: configuration, instanceID: clientID, endpoint: endpoint, logger: logger
        ) { [weak self] in
            // A dead process says nothing more, not even that its tasks are gone.
            guard let self, !self.crashSimulated.load(ordering: .acquiring) else { return nil }
            return self.activeTasks
        }
        try await onOwnThread(named: "streams:instances-start") { try directory.start() }
        self.directory.withLock { $0 = directory }
        return directory
    }

    /// Withdraws this instance's announcement (unless it is to die as a crashed process
    /// would, leaving its announcement for a newer one to override).
    func stopDirectory(_ directory: InstanceDirectory) async {
        self.directory.withLock { $0 = nil }
        let withdrawing = !crashSimulated.load(ordering: .acquiring)
        _ = try? await onOwnThread(named: "streams:instances-stop") { directory.stop(withdrawing: withdrawing) }
    }
}
