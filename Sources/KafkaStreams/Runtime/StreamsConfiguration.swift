import Foundation
import RdKafka

/// How a ``StreamsApp`` runs.
public struct StreamsConfiguration: Sendable {
    /// The delivery guarantee of the read–process–write cycle.
    public enum ProcessingGuarantee: Sendable, Hashable {
        /// Outputs are acknowledged before the offsets of their inputs are committed; after
        /// a crash some inputs are processed (and their outputs written) again.
        case atLeastOnce
        /// Each stream thread writes its outputs, its stores' changelog records and the
        /// offsets of its inputs in one Kafka transaction per commit: after a crash, a
        /// `read_committed` reader sees every input's effects exactly once, and restored
        /// stores match them. Needs brokers that honour transactions (Kafka 2.5 or later;
        /// not the embedded mock broker). See the "Exactly-once" article.
        case exactlyOnce
    }

    /// Names the consumer group, the client ids and the internal topics
    /// (`<applicationID>-...`). Letters, digits, `.`, `_` and `-`.
    public var applicationID: String
    /// `host:port` of one or more brokers.
    public var bootstrapServers: String
    /// Stream threads (each with its own consumer, producer and tasks).
    public var streamThreads: Int = 1
    /// How often processed offsets are committed, counted from the end of the previous
    /// commit. Unless set, as in Kafka Streams: 30 s under at-least-once, 100 ms under
    /// exactly-once (where a commit is what makes outputs visible to `read_committed`
    /// readers, and the transaction timeout must exceed it).
    public var commitInterval: Duration {
        get { explicitCommitInterval ?? (processingGuarantee == .exactlyOnce ? .milliseconds(100) : .seconds(30)) }
        set { explicitCommitInterval = newValue }
    }
    private var explicitCommitInterval: Duration?
    public var processingGuarantee: ProcessingGuarantee = .atLeastOnce
    /// The clients the application talks to Kafka with: librdkafka's, or a simulated
    /// cluster's in tests.
    public var clients: KafkaClients = .librdkafka
    /// Under exactly-once: how long the broker lets a transaction stay open before it
    /// aborts it (`transaction.timeout.ms`), which bounds how long the outputs of a crashed
    /// instance hold back `read_committed` readers. Must exceed the commit interval.
    public var transactionTimeout: Duration = .seconds(10)
    /// Where tasks keep local state: `<stateDirectory>/<applicationID>/<task>/<store>`.
    public var stateDirectory: String = "/tmp/kafka-streams"
    /// RocksDB block cache shared by every persistent store of the application.
    public var stateStoreBlockCacheBytes: Int = 64 << 20
    /// RocksDB memtable budget shared by every persistent store of the application: memory
    /// stays bounded however many stores and partitions a process hosts.
    public var stateStoreWriteBufferBytes: Int = 32 << 20
    /// Bytes the record caches of the stores with caching on (DSL aggregations by default)
    /// may hold, split evenly over the stream threads. A cache holds a store's writes until
    /// the next commit, so a key updated many times in a commit interval reaches the
    /// changelog and the downstream nodes once, with its latest value; when full, a store's
    /// writes go on at once. 0 turns caching off: every update goes on as it happens.
    public var recordCacheBytes: Int = 10 << 20
    /// Changelog records applied per restore batch.
    public var restoreBatchSize: Int = 10_000
    /// How long a restore may read nothing before it fails.
    public var restoreTimeout: Duration = .seconds(60)
    /// Hears restore progress (also logged, and counted in metrics).
    public var restoreListener: (any StateRestoreListener)?
    /// Used by nodes given no key serde (and inheriting none); must match their key type.
    public var defaultKeySerde: (any Serde)?
    /// Used by nodes given no value serde (and inheriting none).
    public var defaultValueSerde: (any Serde)?
    public var errorHandlers = ErrorHandlers()
    /// Where sources that name no ``TimestampExtractor`` take each record's event time:
    /// the time it was written with, unless set.
    public var defaultTimestampExtractor: DefaultTimestampExtractor = .recordTimestamp
    /// How long a task reading several partitions (a merge, a join) waits, in wall-clock
    /// time, for a partition that has nothing buffered and nothing more on the broker,
    /// before it processes the others' records without it (Kafka Streams'
    /// `max.task.idle.ms`, KIP-695). Whatever this is, a partition the consumer has not yet
    /// read to its end is waited for, so records already written are processed in event-time
    /// order. `nil` never waits, not even for that (Kafka Streams' -1).
    ///
    /// Waiting matters for stream time: a record processed without its partner partition
    /// may move stream time past records that partition will bring, which then count as
    /// late. Note the reverse too: a partition that stays empty holds nothing back once its
    /// wait is over, but while it waits, the task processes nothing.
    public var maxTaskIdle: Duration? = .zero
    /// Records a task buffers per input partition (when it reads several) before the
    /// consumer pauses that partition; it resumes at half. Bounds memory: a queued record
    /// keeps librdkafka's fetched message.
    public var maxBufferedRecordsPerPartition: Int = 1000
    /// The most records one poll hands to the stream thread.
    public var maxPollRecords: Int = 1000
    /// How long a poll waits for records; also bounds how late wall-clock punctuations
    /// and a shutdown request are noticed.
    public var pollTimeout: Duration = .milliseconds(100)
    /// How long a commit waits for outstanding outputs to be acknowledged (and, under
    /// exactly-once, for each transactional call). Under at-least-once, outputs still
    /// unacknowledged after it stop the app with ``StreamsError`` `.commit`, and no
    /// offset is committed past their inputs.
    public var flushTimeout: Duration = .seconds(60)
    /// Replication factor of the repartition topics the application creates (`-1`: the
    /// broker's default).
    public var internalTopicReplicationFactor: Int = -1
    /// librdkafka properties for the consumers (e.g. `session.timeout.ms`); the runtime's
    /// own settings (group, commits, assignment strategy) take precedence. Unless set
    /// here, `auto.offset.reset` is `earliest` and `queued.min.messages` is 1,000,000 (for
    /// the restore reader too: librdkafka 2.0 pauses fetching for a second when its smaller
    /// default is reached).
    public var consumerProperties = KafkaConfiguration()
    /// librdkafka properties for the producers (e.g. `compression.type`, `linger.ms`).
    public var producerProperties = KafkaConfiguration()
    /// Properties for both (security settings, say).
    public var commonProperties = KafkaConfiguration()
    /// Where this instance answers interactive queries, `host:port` (Kafka Streams'
    /// `application.server`). Set, the instances of the application tell each other which
    /// tasks they run, on the internal topic `<applicationID>-instances`, and
    /// ``StreamsApp/metadata(forKey:store:keySerde:)`` says which instance holds a key.
    /// The library serves nothing on it: the endpoint is the service's own.
    public var applicationServer: String?
    /// Set, ``StreamsApp/run()`` returns once the input that was there at start is
    /// processed (see ``BoundedRun``); `nil` (the default) runs until shut down.
    public var boundedRun: BoundedRun?

    public init(applicationID: String, bootstrapServers: String) {
        self.applicationID = applicationID
        self.bootstrapServers = bootstrapServers
    }

    /// Checks every value; the error names the setting at fault.
    public func validate() throws {
        func invalid(_ message: String) -> StreamsError { StreamsError(.configuration, message) }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !applicationID.isEmpty, applicationID.allSatisfy(allowed.contains) else {
            throw invalid("applicationID \"\(applicationID)\" must be non-empty and use only letters, digits, '.', '_' and '-'")
        }
        guard !bootstrapServers.trimmingCharacters(in: .whitespaces).isEmpty else { throw invalid("bootstrapServers is empty") }
        guard streamThreads >= 1 else { throw invalid("streamThreads must be at least 1, got \(streamThreads)") }
        guard commitInterval > .zero else { throw invalid("commitInterval must be positive, got \(commitInterval)") }
        if processingGuarantee == .exactlyOnce {
            guard transactionTimeout > commitInterval else {
                throw invalid("transactionTimeout (\(transactionTimeout)) must exceed commitInterval (\(commitInterval)) under exactly-once")
            }
        }
        guard maxPollRecords >= 1 else { throw invalid("maxPollRecords must be at least 1, got \(maxPollRecords)") }
        guard maxBufferedRecordsPerPartition >= 1 else {
            throw invalid("maxBufferedRecordsPerPartition must be at least 1, got \(maxBufferedRecordsPerPartition)")
        }
        if let maxTaskIdle, maxTaskIdle < .zero { throw invalid("maxTaskIdle must be zero or more (nil never waits), got \(maxTaskIdle)") }
        guard stateStoreBlockCacheBytes > 0, stateStoreWriteBufferBytes > 0 else {
            throw invalid("stateStoreBlockCacheBytes and stateStoreWriteBufferBytes must be positive")
        }
        guard recordCacheBytes >= 0 else { throw invalid("recordCacheBytes must be 0 or more, got \(recordCacheBytes)") }
        guard restoreBatchSize > 0, restoreTimeout > .zero else { throw invalid("restoreBatchSize and restoreTimeout must be positive") }
        guard pollTimeout >= .zero, flushTimeout > .zero else { throw invalid("pollTimeout and flushTimeout must be positive") }
        if let boundedRun, boundedRun.progressInterval <= .zero {
            throw invalid("boundedRun.progressInterval must be positive, got \(boundedRun.progressInterval)")
        }
        guard !stateDirectory.isEmpty else { throw invalid("stateDirectory is empty") }
        if let applicationServer, HostInfo(parsing: applicationServer) == nil {
            throw invalid("applicationServer \"\(applicationServer)\" must be host:port, with a port from 1 to 65535")
        }
        guard internalTopicReplicationFactor == -1 || internalTopicReplicationFactor >= 1 else {
            throw invalid("internalTopicReplicationFactor must be -1 or at least 1, got \(internalTopicReplicationFactor)")
        }
        for handling in [errorHandlers.deserialization, errorHandlers.processing, errorHandlers.production] {
            if case .deadLetter(let topic) = handling, topic.isEmpty { throw invalid("a dead-letter topic name is empty") }
        }
        let producer = producerConfiguration(clientID: "validation", transactionalID: processingGuarantee == .exactlyOnce ? "validation" : nil)
        for configuration in [consumerConfiguration(clientID: "validation"), producer] {
            if let error = Self.problem(with: configuration) {
                throw StreamsError(.configuration, "invalid client property\(error.configurationKey.map { " \($0)" } ?? "")", underlying: error)
            }
        }
    }

    private static func problem(with configuration: KafkaConfiguration) -> KafkaError? {
        do {
            try configuration.validate()
            return nil
        } catch {
            return error
        }
    }

    /// How tasks reading several partitions queue and wait.
    var queueSettings: QueueSettings {
        QueueSettings(maxTaskIdle: maxTaskIdle, maxBufferedPerPartition: maxBufferedRecordsPerPartition)
    }

    /// The record cache budget of one stream thread, or `nil` when caching is off.
    func recordCacheBudget() -> RecordCache? {
        recordCacheBytes > 0 ? RecordCache(maxBytes: recordCacheBytes / streamThreads) : nil
    }

    /// The prefetch a stream thread's consumer keeps unless told otherwise (see
    /// ``consumerConfiguration(clientID:)``); benchmarks give it to their baselines too.
    package static let streamThreadQueuedMinMessages = 1_000_000

    /// The consumer of a stream thread: a member of the application's group that commits
    /// only what the runtime tells it to.
    func consumerConfiguration(clientID: String) -> KafkaConfiguration {
        var configuration = commonProperties.merging(consumerProperties.properties)
        configuration["bootstrap.servers"] = bootstrapServers
        configuration.clientID = clientID
        configuration.groupID = applicationID
        configuration.enableAutoCommit = false
        configuration["enable.auto.offset.store"] = "false"
        if configuration["auto.offset.reset"] == nil { configuration.autoOffsetReset = "earliest" }
        if processingGuarantee == .exactlyOnce { configuration["isolation.level"] = "read_committed" }
        // The end of a partition is what says nothing more is on the broker for now: a task
        // reading several partitions waits for one with nothing buffered until then.
        configuration["enable.partition.eof"] = "true"
        // librdkafka 2.0 stops fetching for a whole second once its prefetch queue holds
        // `queued.min.messages` (default 100,000, counted over all partitions), and a stream
        // thread drains that many in well under a second: it then sits idle (measured: 60%
        // of the time, 137k instead of 323k records/s). A larger count leaves the byte
        // bound (`queued.max.messages.kbytes`, 64 MiB) in charge, which takes longer than
        // the back-off to drain.
        if configuration["queued.min.messages"] == nil { configuration["queued.min.messages"] = String(Self.streamThreadQueuedMinMessages) }
        // Range keeps equal partition numbers of co-partitioned topics on one member;
        // cooperative-sticky does not (see the "Getting started" article, "Co-partitioning").
        configuration.assignmentStrategy = .range
        return configuration
    }

    /// The reader that restores stores: no group, no commits, partitions assigned by hand.
    /// The reader of global tables' topics: a restore consumer of its own name.
    func globalConsumerConfiguration() -> KafkaConfiguration {
        var configuration = restoreConsumerConfiguration()
        configuration.clientID = "\(applicationID)-global-consumer"
        return configuration
    }

    func restoreConsumerConfiguration() -> KafkaConfiguration {
        var configuration = commonProperties.merging(consumerProperties.properties)
        configuration["bootstrap.servers"] = bootstrapServers
        configuration.clientID = "\(applicationID)-restore-consumer"
        configuration.groupID = nil
        configuration.enableAutoCommit = false
        configuration["enable.auto.offset.store"] = "false"
        // The same one-second fetch pause as the stream threads' (see above): a restore
        // reading many changelog partitions at once fills the default queue at once
        // (measured: 160k instead of 900k records/s).
        if configuration["queued.min.messages"] == nil { configuration["queued.min.messages"] = String(Self.streamThreadQueuedMinMessages) }
        // Stores must never take in the changes of an aborted transaction.
        if processingGuarantee == .exactlyOnce { configuration["isolation.level"] = "read_committed" }
        return configuration
    }

    /// The producer of a stream thread: keys partitioned as Java clients do (murmur2),
    /// so repartitioned records meet records written by other Kafka clients; transactional
    /// when `transactionalID` is given.
    func producerConfiguration(clientID: String, transactionalID: String? = nil) -> KafkaConfiguration {
        var configuration = commonProperties.merging(producerProperties.properties)
        configuration["bootstrap.servers"] = bootstrapServers
        configuration.clientID = clientID
        if configuration["partitioner"] == nil { configuration["partitioner"] = "murmur2_random" }
        if configuration["enable.idempotence"] == nil { configuration.enableIdempotence = true }
        if let transactionalID {
            configuration.transactionalID = transactionalID
            configuration.enableIdempotence = true
            if configuration["transaction.timeout.ms"] == nil {
                configuration["transaction.timeout.ms"] = String(transactionTimeout.wholeMilliseconds)
            }
        }
        return configuration
    }
}
