import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka

/// N records through a `filter` + `mapValues` topology run by `StreamsApp` (at-least-once,
/// committing every second), against the C consume->produce pipe on the same embedded
/// broker, alternating rounds. A Swift round is timed from the moment the group has
/// assigned every partition (the mock's join takes seconds and is reported apart) until
/// the output topic holds every record; the C pipe assigns its partitions by hand and
/// writes each record to its input partition, which is where the app's key partitioning
/// puts it too. Both pipes use the app's default client settings: idempotent producers and
/// a consumer prefetch of up to a million records.
struct StatelessBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stateless", abstract: "filter + mapValues in StreamsApp vs the plain C pipe.")

    @Option(help: "Records to pipe.") var records = 1_000_000
    @Option(help: "Bytes per record value.") var valueBytes = 100
    @Option(help: "Partitions per topic (the mock keeps ~5 MiB per partition).") var partitions = 64
    @Option(help: "Rounds of each implementation (single rounds vary a lot: the ratio is of medians and of bests).") var rounds = 5
    @Option(help: "linger.ms of both pipes' producers.") var pipeLingerMs = 5
    @Option(help: "Commit interval of the app, in milliseconds.") var commitIntervalMs = 1000
    @Flag(inversion: .prefixedEnableDisable, help: "Idempotent producers in both pipes (the app's default).")
    var idempotence = true

    func run() throws {
        _ = ProcessedCounter.shared  // before any app creates its metrics
        // Keyed input, as a stream app's input usually is: the app's sink partitions by key
        // (murmur2), so each output lands on its input's partition, as in the C pipe.
        let fixture = try PipeFixture(records: records, valueBytes: valueBytes, partitions: partitions, fillLingerMs: 5, partitionByKey: true)
        for round in 0..<rounds {
            try fixture.cluster.createTopic("stateless-out-c-\(round)", partitions: partitions)
            try fixture.cluster.createTopic("stateless-out-swift-\(round)", partitions: partitions)
        }
        var swift: [PipeRun] = []
        var c: [PipeRun] = []
        var joins: [Double] = []
        for round in 0..<rounds {
            try alternate(
                round: round,
                {
                    let run = try PipeRun.measure(records: records) { try fixture.runC(
                            output: "stateless-out-c-\(round)", lingerMs: pipeLingerMs, idempotent: idempotence,
                            queuedMinMessages: StreamsConfiguration.streamThreadQueuedMinMessages) }
                    try fixture.verify(topic: "stateless-out-c-\(round)")
                    progress("round \(round): C     \(Int(run.rate)) records/s, \(Int(run.cpuNanosecondsPerRecord)) ns CPU/record")
                    c.append(run)
                },
                {
                    let (run, join) = try runStreams(fixture: fixture, round: round)
                    try fixture.verify(topic: "stateless-out-swift-\(round)")
                    progress("round \(round): Swift \(Int(run.rate)) records/s, \(Int(run.cpuNanosecondsPerRecord)) ns CPU/record (group join \(join) s)")
                    swift.append(run)
                    joins.append(join)
                })
        }
        var details: [String: Double] = [
            "partitions": Double(partitions), "idempotence": idempotence ? 1 : 0, "value_bytes": Double(valueBytes), "commit_interval_ms": Double(commitIntervalMs),
            "swift_median_rate": median(swift.map(\.rate)).rounded(), "c_median_rate": median(c.map(\.rate)).rounded(),
            "median_ratio": median(swift.map(\.rate)) / median(c.map(\.rate)),
            "swift_cpu_ns_per_record": median(swift.map(\.cpuNanosecondsPerRecord)).rounded(),
            "c_cpu_ns_per_record": median(c.map(\.cpuNanosecondsPerRecord)).rounded(),
            "group_join_seconds": median(joins),
        ]
        for (index, run) in swift.enumerated() { details["swift_round_\(index)"] = run.rate.rounded() }
        for (index, run) in c.enumerated() { details["c_round_\(index)"] = run.rate.rounded() }
        try BenchmarkReport(
            bench: "stateless", records: records, rate: swift.map(\.rate).max() ?? 0,
            baseline: "c-librdkafka-pipe", baselineRate: c.map(\.rate).max() ?? 0, details: details
        ).print()
    }

    /// One StreamsApp round; returns its run and how long the group join took.
    private func runStreams(fixture: PipeFixture, round: Int) throws -> (PipeRun, Double) {
        let output = "stateless-out-swift-\(round)"
        let builder = StreamsBuilder()
        filterAndMap(builder.stream("pipe-in", key: .optional(.bytes), value: .bytes)).to(output)
        return try AppRound(
            fixture: fixture, lingerMs: pipeLingerMs, idempotence: idempotence, commitIntervalMs: commitIntervalMs
        ).measure(topology: try builder.build(), applicationID: "stateless-bench-\(round)", output: output, round: round)
    }
}
