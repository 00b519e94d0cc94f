import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka

/// A replay against a live run: the word count (through a repartition topic) and a
/// tumbling-window count, each over the same records already in the topic, once by an app
/// running as usual (live, caught up from offset 0) and once by a bounded run of a new
/// application id from offset 0. Both are timed from the moment the group has assigned
/// every task until their threads processed every record (of the input and of the
/// repartition topic). The bounded run's tail after that is reported apart: until it
/// finished (its final commit, and its check of the group's offsets seeing it) and until
/// `run()` returned (stores closed, group left). A replay must not be slower than live.
struct ReplayBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Bounded replay from offset 0 against a live run of the same topology (records/s).")

    @Option(help: "Records of each input.") var records = 1_000_000
    @Option(help: "Partitions per topic (the mock keeps ~5 MiB per partition).") var partitions = 16
    @Option(help: "Rounds (each: live and replay of both topologies, alternating which goes first); the ratios are of median rates.")
    var rounds = 3

    struct Workload {
        let name: String
        let input: String
        /// Records the stream threads process for the input's records (repartition included).
        let processed: Int
        let topology: (String) throws -> Topology
    }

    func run() throws {
        _ = ProcessedCounter.shared  // before any app creates its metrics
        var logger = Logger(label: "streams-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: 1, logger: logger)
        var base = KafkaConfiguration()
        base.bootstrapServers = [cluster.bootstrapServers]
        try cluster.createTopic("replay-lines", partitions: partitions)
        try cluster.createTopic("replay-events", partitions: partitions)
        // Two words a line from 1,000; events of 1,000 keys, ~100 per second of event time.
        try fillTopic("replay-lines", count: records, base: base, lingerMs: 50, logger: logger) { index in
            ProducerRecord(topic: "replay-lines", key: Array("line-\(index)".utf8), value: Array("w\(index % 1000) w\((index * 7) % 1000)".utf8), timestamp: 1)
        }
        let start: Int64 = 1_700_000_000_000
        try fillTopic("replay-events", count: records, base: base, lingerMs: 50, logger: logger) { index in
            ProducerRecord(topic: "replay-events", key: Array("key-\(index % 1000)".utf8), value: [1], timestamp: start + Int64(index) * 10)
        }
        let workloads = [
            Workload(name: "wordcount", input: "replay-lines", processed: records * 3) { output in
                let builder = StreamsBuilder()
                builder.stream("replay-lines", key: .string, value: .string)
                    .flatMapValues { line in line.split(separator: " ").map(String.init) }
                    .groupBy(key: .string) { _, word in word }
                    .count(materialized: .as("counts"))
                    .toStream()
                    .to(output, key: .string, value: .optional(.int64))
                return try builder.build()
            },
            Workload(name: "tumbling", input: "replay-events", processed: records) { output in
                let builder = StreamsBuilder()
                builder.stream("replay-events", key: .string, value: .bytes).groupByKey()
                    .windowedBy(.tumbling(size: .seconds(60), grace: .seconds(5)))
                    .count(materialized: .as("counts"))
                    .toStream()
                    .to(output, key: .timeWindowed(.string, windowSize: .seconds(60)), value: .optional(.int64))
                return try builder.build()
            },
        ]
        var rates: [String: [Double]] = [:]
        var finishTails: [Double] = []
        var returnTails: [Double] = []
        for round in 0..<rounds {
            for workload in workloads {
                // Alternate which goes first: a second run may find the broker warmer.
                for bounded in round % 2 == 0 ? [false, true] : [true, false] {
                    let label = "\(workload.name)-\(bounded ? "replay" : "live")"
                    let (rate, tails) = try measure(workload, bounded: bounded, applicationID: "\(label)-\(round)", cluster: cluster, logger: logger)
                    let tail = tails.map { String(format: ", then %.2f s to finish and %.2f s to return", $0.finish, $0.return) } ?? ""
                    progress("round \(round): \(label) \(Int(rate)) records/s\(tail)")
                    rates[label, default: []].append(rate)
                    if let tails {
                        finishTails.append(tails.finish)
                        returnTails.append(tails.return)
                    }
                }
            }
        }
        var details: [String: Double] = ["records": Double(records), "partitions": Double(partitions), "rounds": Double(rounds)]
        var ratios: [Double] = []
        for workload in workloads {
            let live = median(rates["\(workload.name)-live"] ?? [])
            let replay = median(rates["\(workload.name)-replay"] ?? [])
            details["\(workload.name)_live_records_per_second"] = live.rounded()
            details["\(workload.name)_replay_records_per_second"] = replay.rounded()
            details["\(workload.name)_ratio"] = ((replay / live) * 1000).rounded() / 1000
            ratios.append(replay / live)
            for (index, rate) in (rates["\(workload.name)-replay"] ?? []).enumerated() { details["\(workload.name)_replay_round\(index + 1)"] = rate.rounded() }
            for (index, rate) in (rates["\(workload.name)-live"] ?? []).enumerated() { details["\(workload.name)_live_round\(index + 1)"] = rate.rounded() }
        }
        details["bounded_run_finish_seconds_max"] = ((finishTails.max() ?? 0) * 100).rounded() / 100
        details["bounded_run_return_seconds_max"] = ((returnTails.max() ?? 0) * 100).rounded() / 100
        details["peak_rss_mib"] = (ProcessMemory.peakResidentBytes / 1_048_576).rounded()
        // The report's rate and baseline are the word count's; `ratio` in details is the
        // lower of the two workloads'.
        details["ratio"] = ((ratios.min() ?? 0) * 1000).rounded() / 1000
        try BenchmarkReport(
            bench: "replay", records: records, rate: median(rates["wordcount-replay"] ?? []), baseline: "live",
            baselineRate: median(rates["wordcount-live"] ?? []), details: details
        ).print()
    }

    /// One run of `workload` over its whole input: its input records per second, and for a
    /// bounded run the seconds it took after that to finish and then to return.
    private func measure(
        _ workload: Workload, bounded: Bool, applicationID: String, cluster: MockCluster, logger: Logger
    ) throws -> (rate: Double, tails: (finish: Double, return: Double)?) {
        var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: cluster.bootstrapServers)
        configuration.commitInterval = .seconds(1)
        configuration.stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("replay-bench-\(getpid())").path
        configuration.consumerProperties = KafkaConfiguration(properties: [
            "fetch.wait.max.ms": "10", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
        ])
        configuration.producerProperties = KafkaConfiguration(properties: ["linger.ms": "5"])
        if bounded { configuration.boundedRun = BoundedRun() }
        defer { try? FileManager.default.removeItem(atPath: configuration.stateDirectory) }
        let processed = ProcessedCounter.shared
        processed.boundedRunEnd.reset()
        let before = processed.value
        let app = try StreamsApp(topology: try workload.topology("\(applicationID)-out"), configuration: configuration, logger: logger)
        let running = BackgroundApp(app)
        let clock = ContinuousClock()
        let launched = clock.now
        while app.activeTasks.count < partitions && clock.now - launched < .seconds(60) { Thread.sleep(forTimeInterval: 0.001) }
        let start = clock.now
        let early = processed.value - before
        // Both runs are timed by the same measure: until their threads processed every
        // record. The bounded run then needs its final commit and its check of the
        // group's offsets (`finish`), and its shutdown, before `run()` returns (`return`).
        running.wait(timeout: .seconds(600)) { processed.value - before >= Int64(workload.processed) }
        let end = clock.now
        var tails: (finish: Double, return: Double)?
        if bounded {
            guard running.waitUntilFinished(timeout: .seconds(600)), let finished = processed.boundedRunEnd.time else {
                throw BenchmarkFailure("\(applicationID): the bounded run did not end")
            }
            tails = ((finished - end).fractionalSeconds, (clock.now - finished).fractionalSeconds)
        }
        let elapsed = (end - start).fractionalSeconds
        let done = processed.value - before
        try running.stop()
        guard done >= Int64(workload.processed) else { throw BenchmarkFailure("\(applicationID) processed \(done) of \(workload.processed) records") }
        // Input records per second, less what was processed before the clock started.
        return (Double(records) * Double(Int64(workload.processed) - early) / Double(workload.processed) / elapsed, tails)
    }
}
