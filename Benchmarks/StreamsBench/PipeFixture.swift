import CBaseline
import Logging
import RdKafka

/// An embedded broker with `pipe-in` filled with numbered records, the C consume->produce
/// baseline, and the check that a topic holds every record: shared by the pipe benchmarks.
struct PipeFixture {
    let records: Int
    let valueBytes: Int
    let partitions: Int
    let cluster: MockCluster
    let base: KafkaConfiguration
    let logger: Logger
    private let inspector: Consumer
    /// Reads watermarks, to check what the mock kept.
    var inspectorConsumer: Consumer { inspector }

    /// - Parameter partitionByKey: fill partitions as Java clients (and stream apps) do,
    ///   by the murmur2 hash of the key, instead of round-robin by record number.
    init(records: Int, valueBytes: Int, partitions: Int, fillLingerMs: Int, partitionByKey: Bool = false) throws {
        self.records = records
        self.valueBytes = valueBytes
        self.partitions = partitions
        var logger = Logger(label: "streams-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        self.logger = logger
        cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("pipe-in", partitions: partitions)
        var base = KafkaConfiguration()
        base.bootstrapServers = [cluster.bootstrapServers]
        self.base = base
        inspector = try Consumer(configuration: base, logger: logger)
        progress("filling pipe-in with \(records) x \(valueBytes) B over \(partitions) partitions")
        try fill(lingerMs: fillLingerMs, partitionByKey: partitionByKey)
        try verify(topic: "pipe-in")
    }

    private func fill(lingerMs: Int, partitionByKey: Bool) throws {
        var value = [UInt8](repeating: 0, count: valueBytes)
        try fillTopic("pipe-in", count: records, base: base, lingerMs: lingerMs, logger: logger) { index in
            value[index % valueBytes] = UInt8(truncatingIfNeeded: index)
            let partition = partitionByKey ? nil : Int32(index % partitions)
            return ProducerRecord(topic: "pipe-in", partition: partition, key: Array(String(index).utf8), value: value)
        }
    }

    /// Records in `topic` over all its partitions.
    func count(topic: String) throws -> Int64 {
        var total: Int64 = 0
        for partition in 0..<Int32(partitions) {
            total += try inspector.queryWatermarks(topic: topic, partition: partition, timeout: .seconds(10)).high
        }
        return total
    }

    /// Proves the mock kept every record of `topic`.
    func verify(topic: String) throws {
        try verifyRetained(topic, partitions: partitions, records: records, inspector: inspector)
    }

    /// The C pipe (Benchmarks/CBaseline/pipe.c) from `pipe-in` to `output`; its rate.
    /// `queuedMinMessages` nil keeps librdkafka's default.
    func runC(output: String, lingerMs: Int, idempotent: Bool = false, queuedMinMessages: Int? = nil) throws -> Double {
        var result = cbaseline_result()
        var error = [CChar](repeating: 0, count: 512)
        let status = queuedMinMessages.map(String.init).withOptionalCString { queued in
            cbaseline_pipe(
                cluster.bootstrapServers, "pipe-in", Int32(partitions), output, Int64(records), String(lingerMs),
                idempotent ? 1 : 0, queued, &result, &error, error.count)
        }
        guard status == 0 else {
            throw BenchmarkFailure("C pipe: \(cMessage(error))")
        }
        guard result.records == Int64(records), result.failures == 0 else {
            throw BenchmarkFailure("C pipe moved \(result.records) records with \(result.failures) failures")
        }
        return Double(result.records) / result.seconds
    }
}

extension Optional<String> {
    /// Calls `body` with a C string, or with NULL for `nil`.
    func withOptionalCString<Result>(_ body: (UnsafePointer<CChar>?) -> Result) -> Result {
        switch self {
        case .some(let string): string.withCString { body($0) }
        case .none: body(nil)
        }
    }
}
