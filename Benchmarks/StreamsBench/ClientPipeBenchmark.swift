import ArgumentParser
import CBaseline
import Foundation
import Logging
import RdKafka

/// consume -> produce of N records through the RdKafka wrapper, against the same pipe
/// written in C (Benchmarks/CBaseline/pipe.c), on one embedded broker, alternating C and
/// Swift rounds; the best round of each counts.
struct ClientPipeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-pipe", abstract: "Consume->produce pipe through RdKafka vs plain C.")

    @Option(help: "Records to pipe.") var records = 1_000_000
    @Option(help: "Bytes per record value.") var valueBytes = 100
    @Option(help: "Partitions per topic (the mock keeps ~5 MiB per partition: keep records*size/partitions well below).")
    var partitions = 64
    @Option(help: "Rounds of each implementation.") var rounds = 2

    func run() throws {
        var logger = Logger(label: "client-pipe") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("pipe-in", partitions: partitions)
        var base = KafkaConfiguration()
        base.bootstrapServers = [cluster.bootstrapServers]
        let inspector = try Consumer(configuration: base, logger: logger)

        progress("filling pipe-in with \(records) x \(valueBytes) B over \(partitions) partitions")
        try fill(base: base, logger: logger)
        try verify(topic: "pipe-in", with: inspector)

        var swiftRates: [Double] = []
        var cRates: [Double] = []
        for round in 0..<rounds {
            let cTopic = "pipe-out-c-\(round)"
            try cluster.createTopic(cTopic, partitions: partitions)
            let cRate = try runC(bootstrap: cluster.bootstrapServers, output: cTopic)
            try verify(topic: cTopic, with: inspector)
            cRates.append(cRate)
            progress("round \(round): C     \(Int(cRate)) records/s")

            let swiftTopic = "pipe-out-swift-\(round)"
            try cluster.createTopic(swiftTopic, partitions: partitions)
            let swiftRate = try runSwift(base: base, output: swiftTopic, logger: logger)
            try verify(topic: swiftTopic, with: inspector)
            swiftRates.append(swiftRate)
            progress("round \(round): Swift \(Int(swiftRate)) records/s")
        }
        try inspector.close()
        var details: [String: Double] = ["partitions": Double(partitions), "value_bytes": Double(valueBytes), "dropped": 0]
        for (index, rate) in swiftRates.enumerated() { details["swift_round_\(index)"] = rate.rounded() }
        for (index, rate) in cRates.enumerated() { details["c_round_\(index)"] = rate.rounded() }
        try BenchmarkReport(
            bench: "client-pipe", records: records, rate: swiftRates.max() ?? 0,
            baseline: "c-librdkafka", baselineRate: cRates.max() ?? 0, details: details
        ).print()
    }

    private func fill(base: KafkaConfiguration, logger: Logger) throws {
        // Large batches: the mock serves one stored batch per partition per fetch, so the
        // input's batch size sets how fast either pipe can read it.
        let producer = try Producer(
            configuration: base.merging(["linger.ms": "100", "batch.num.messages": "10000", "batch.size": "2000000"]), logger: logger)
        var value = [UInt8](repeating: 0, count: valueBytes)
        for index in 0..<records {
            value[index % valueBytes] = UInt8(truncatingIfNeeded: index)
            let key = Array(String(index).utf8)
            try producer.produce(ProducerRecord(topic: "pipe-in", partition: Int32(index % partitions), key: key, value: value))
        }
        try producer.flush(timeout: .seconds(120))
        guard producer.deliveryFailureCount == 0 else { throw BenchmarkFailure("\(producer.deliveryFailureCount) fill records failed") }
        producer.close()
    }

    /// Proves the mock kept every record: each partition still starts at offset 0 and the
    /// partitions hold exactly `records` records together.
    private func verify(topic: String, with inspector: Consumer) throws {
        var total: Int64 = 0
        for partition in 0..<Int32(partitions) {
            let marks = try inspector.queryWatermarks(topic: topic, partition: partition, timeout: .seconds(10))
            guard marks.low == 0 else {
                throw BenchmarkFailure("\(topic)[\(partition)] dropped \(marks.low) records (retention): use more partitions")
            }
            total += marks.high
        }
        guard total == Int64(records) else { throw BenchmarkFailure("\(topic) holds \(total) records, expected \(records)") }
    }

    private func runC(bootstrap: String, output: String) throws -> Double {
        var result = cbaseline_result()
        var error = [CChar](repeating: 0, count: 512)
        guard cbaseline_pipe(bootstrap, "pipe-in", Int32(partitions), output, Int64(records), &result, &error, error.count) == 0 else {
            throw BenchmarkFailure("C pipe: \(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        guard result.records == Int64(records), result.failures == 0 else {
            throw BenchmarkFailure("C pipe moved \(result.records) records with \(result.failures) failures")
        }
        return Double(result.records) / result.seconds
    }

    private func runSwift(base: KafkaConfiguration, output: String, logger: Logger) throws -> Double {
        var consumerConfiguration = base.merging(["fetch.wait.max.ms": "10"])
        consumerConfiguration.enableAutoCommit = false
        let consumer = try Consumer(configuration: consumerConfiguration, logger: logger)
        let producer = try Producer(configuration: base.merging(["linger.ms": "5"]), logger: logger)
        try consumer.assign((0..<Int32(partitions)).map {
            TopicPartitionOffset(topic: "pipe-in", partition: $0, offset: KafkaOffset.beginning)
        })
        let clock = ContinuousClock()
        let start = clock.now
        var piped = 0
        while piped < records && clock.now - start < .seconds(300) {
            let batch = try consumer.poll(maxRecords: 1000, timeout: .milliseconds(100))
            for record in batch {
                try producer.produce(ProducerRecord(topic: output, partition: record.partition, key: record.key, value: record.value))
            }
            piped += batch.count
        }
        try producer.flush(timeout: .seconds(60))
        let elapsed = seconds(clock.now - start)
        guard piped == records, producer.deliveryFailureCount == 0 else {
            throw BenchmarkFailure("Swift pipe moved \(piped) records with \(producer.deliveryFailureCount) failures")
        }
        try consumer.close()
        producer.close()
        return Double(piped) / elapsed
    }
}
