import ArgumentParser
import CBaseline
import Foundation
import Logging
import RdKafka

/// consume -> produce of N records through the RdKafka wrapper, against the same pipe
/// written in C (Benchmarks/CBaseline/pipe.c), on one embedded broker, alternating C and
/// Swift rounds; the best round of each counts. The in-process mock broker shares the two
/// cores with both pipes and bounds their speed, so single rounds vary a lot; the medians
/// and the process CPU time per record are reported next to the best rates.
struct ClientPipeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-pipe", abstract: "Consume->produce pipe through RdKafka vs plain C.")

    @Option(help: "Records to pipe.") var records = 1_000_000
    @Option(help: "Bytes per record value.") var valueBytes = 100
    @Option(help: "Partitions per topic (the mock keeps ~5 MiB per partition: keep records*size/partitions well below).")
    var partitions = 64
    @Option(help: "Rounds of each implementation.") var rounds = 5
    @Option(help: "linger.ms of the producer that fills the input topic.") var fillLingerMs = 5
    @Option(help: "linger.ms of both pipes' producers.") var pipeLingerMs = 5

    func run() throws {
        let fixture = try PipeFixture(records: records, valueBytes: valueBytes, partitions: partitions, fillLingerMs: fillLingerMs)
        let (cluster, base, logger) = (fixture.cluster, fixture.base, fixture.logger)

        // Every round adds output data to the in-process broker, which makes later rounds
        // slower: create all topics first and alternate which pipe goes first.
        for round in 0..<rounds {
            try cluster.createTopic("pipe-out-c-\(round)", partitions: partitions)
            try cluster.createTopic("pipe-out-swift-\(round)", partitions: partitions)
        }
        var swift: [PipeRun] = []
        var c: [PipeRun] = []
        for round in 0..<rounds {
            try alternate(
                round: round,
                { c.append(try measureRound(round, "C    ", output: "pipe-out-c-\(round)", fixture: fixture) {
                    try fixture.runC(output: $0, lingerMs: pipeLingerMs)
                }) },
                { swift.append(try measureRound(round, "Swift", output: "pipe-out-swift-\(round)", fixture: fixture) {
                    try runSwift(base: base, output: $0, logger: logger)
                }) })
        }
        let swiftRates = swift.map(\.rate)
        let cRates = c.map(\.rate)
        var details: [String: Double] = [
            "partitions": Double(partitions), "value_bytes": Double(valueBytes), "dropped": 0,
            "fill_linger_ms": Double(fillLingerMs), "pipe_linger_ms": Double(pipeLingerMs),
        ]
        for (index, rate) in swiftRates.enumerated() { details["swift_round_\(index)"] = rate.rounded() }
        for (index, rate) in cRates.enumerated() { details["c_round_\(index)"] = rate.rounded() }
        details["swift_median_rate"] = median(swiftRates).rounded()
        details["c_median_rate"] = median(cRates).rounded()
        details["median_ratio"] = median(swiftRates) / median(cRates)
        details["swift_cpu_ns_per_record"] = median(swift.map(\.cpuNanosecondsPerRecord)).rounded()
        details["c_cpu_ns_per_record"] = median(c.map(\.cpuNanosecondsPerRecord)).rounded()
        try BenchmarkReport(
            bench: "client-pipe", records: records, rate: swiftRates.max() ?? 0,
            baseline: "c-librdkafka", baselineRate: cRates.max() ?? 0, details: details
        ).print()
    }

    /// Runs one pipe into `output`, checks that the output holds every record, and reports.
    private func measureRound(
        _ round: Int, _ label: String, output: String, fixture: PipeFixture, _ pipe: (String) throws -> Double
    ) throws -> PipeRun {
        let run = try PipeRun.measure(records: records) { try pipe(output) }
        try fixture.verify(topic: output)
        progress("round \(round): \(label) \(Int(run.rate)) records/s, \(Int(run.cpuNanosecondsPerRecord)) ns CPU/record")
        return run
    }

    private func runSwift(base: KafkaConfiguration, output: String, logger: Logger) throws -> Double {
        var consumerConfiguration = base.merging(["fetch.wait.max.ms": "10"])
        consumerConfiguration.enableAutoCommit = false
        let consumer = try Consumer(configuration: consumerConfiguration, logger: logger)
        let producer = try Producer(configuration: base.merging(["linger.ms": String(pipeLingerMs)]), logger: logger)
        try consumer.assign((0..<Int32(partitions)).map {
            TopicPartitionOffset(topic: "pipe-in", partition: $0, offset: KafkaOffset.beginning)
        })
        let clock = ContinuousClock()
        let start = clock.now
        var piped = 0
        while piped < records && clock.now - start < .seconds(300) {
            // The borrowed read path: key and value go from the fetched buffer to the
            // producer's copy without an intermediate Swift array.
            piped += try consumer.poll(maxRecords: 1000, timeout: .milliseconds(100)) { message in
                try producer.produce(topic: output, partition: message.partition, key: message.key, value: message.value)
            }
        }
        try producer.flush(timeout: .seconds(60))
        let elapsed = (clock.now - start).fractionalSeconds
        guard piped == records, producer.deliveryFailureCount == 0 else {
            throw BenchmarkFailure("Swift pipe moved \(piped) records with \(producer.deliveryFailureCount) failures")
        }
        try consumer.close()
        producer.close()
        return Double(piped) / elapsed
    }
}

/// One pipe run: its throughput and the process CPU time (all threads, the in-process
/// broker's included) it cost per record.
struct PipeRun {
    var rate: Double
    var cpuNanosecondsPerRecord: Double

    static func measure(records: Int, _ run: () throws -> Double) throws -> PipeRun {
        let before = processCPUSeconds()
        let rate = try run()
        return PipeRun(rate: rate, cpuNanosecondsPerRecord: (processCPUSeconds() - before) * 1e9 / Double(records))
    }
}

func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    return user + system
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
