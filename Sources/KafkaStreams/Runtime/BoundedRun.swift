/// Makes ``StreamsApp/run()`` return once the application has processed its input as it
/// stood when the run started: batch on the same code (a replay from offset 0 into a new
/// output, say). Set ``StreamsConfiguration/boundedRun``.
///
/// At start the run captures the latest offset of every partition of the source topics (or
/// the offset of the first record at or after a time, ``end``); records from there on are
/// left for a later run. The stream threads process up to
/// those ends, then the records their repartition topics took on the way, and commit. The
/// run is over when the group's committed offsets reach every captured end and every
/// repartition partition is drained, so with several instances (or threads) each returns
/// once all of them are done, and a rebalance meanwhile loses nothing. Progress (records
/// done and to do, rate, time left) is logged every ``progressInterval`` and kept in
/// gauges: `kafka_streams_bounded_run_records_total` and
/// `kafka_streams_bounded_run_remaining_records` count input records committed and not yet,
/// `kafka_streams_bounded_run_finished` turns 1 once the repartition topics are drained too.
///
/// By default windows stay open at the end: stream time is the largest record time read,
/// as in a live run, so the same application can go on live from there (a replay catching
/// up before a cut-over) without treating new records as late. With
/// ``closesWindowsAtEnd`` the run ends its input instead, as a final watermark does.
public struct BoundedRun: Sendable, Hashable {
    /// Where the run's input ends in each partition.
    public enum End: Sendable, Hashable {
        /// The latest offset when the run starts.
        case latest
        /// Just before the first record at or after this time (Kafka's offsets-for-times:
        /// by offset, so with timestamps out of order a later record that is earlier is
        /// left too), or the latest offset where none is that late.
        case time(millisecondsSinceEpoch: Int64)
    }

    /// How often progress is logged.
    public var progressInterval: Duration
    /// Where the input ends: the latest offsets at start (the default), or a time.
    public var end: End
    /// Whether the end of the input closes every open window: once everything is processed,
    /// each emit-final window aggregation emits the final result of every window it has not
    /// emitted yet, and each outer stream–stream join sends what it holds without a partner
    /// (``Processor/finishInput()``), sub-topology after sub-topology in the order data
    /// flows, each level's results processed before the next closes. An operator's stream
    /// time moves only just past the windows it closed, so a later run of the same
    /// application treats a record for one of them as late and opens later windows as
    /// usual. The levels are coordinated across the instances of the application: a task
    /// that has finished commits with a mark (offset metadata) the others read, and no
    /// instance closes a level before every task of the levels before it, wherever it ran,
    /// has finished and its results are processed.
    public var closesWindowsAtEnd: Bool

    public init(progressInterval: Duration = .seconds(10), end: End = .latest, closesWindowsAtEnd: Bool = false) {
        self.progressInterval = progressInterval
        self.end = end
        self.closesWindowsAtEnd = closesWindowsAtEnd
    }
}

/// How far a consumer group trails the end of its input topics: per partition, the
/// records between the group's committed offset and the partition's latest offset.
public struct InputLag: Sendable, Hashable {
    /// One partition's lag.
    public struct Partition: Sendable, Hashable {
        public var topic: String
        public var partition: Int32
        /// The group's committed offset (the log's first offset where none is committed).
        public var committedOffset: Int64
        /// The offset the next record written will take.
        public var endOffset: Int64
        /// Records not processed yet.
        public var lag: Int64 { max(0, endOffset - committedOffset) }
    }

    /// Every partition of the application's source topics (repartition topics excluded),
    /// in topic and partition order.
    public var partitions: [Partition]

    /// Records not processed yet, over every partition.
    public var total: Int64 { partitions.reduce(0) { $0 + $1.lag } }
}
