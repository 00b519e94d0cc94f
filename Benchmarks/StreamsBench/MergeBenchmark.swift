import ArgumentParser
import Foundation
import KafkaStreams
import RdKafka

/// Two co-partitioned topics merged by event time, then filter + mapValues, against the
/// same processing of one topic holding as many records, alternating rounds in one run.
/// The merged input interleaves in event time (record i goes to `merge-a` when i is even,
/// `merge-b` when odd, stamped with time i), so every task takes records from both of its
/// partitions in turn: the queues, the event-time choice and kept librdkafka messages are
/// what the ratio measures.
struct MergeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Two topics merged in event-time order vs one topic, same records and processing.")

    @Option(help: "Records in all (the merged input splits them in two).") var records = 1_000_000
    @Option(help: "Bytes per record value.") var valueBytes = 100
    @Option(help: "Partitions per topic (the mock keeps ~5 MiB per partition).") var partitions = 64
    @Option(help: "Rounds of each (the ratio is of medians and of bests).") var rounds = 5
    @Option(help: "Records a task queues per partition before pausing it.") var maxBuffered = 1000

    func run() throws {
        _ = ProcessedCounter.shared  // before any app creates its metrics
        let fixture = try PipeFixture(records: records, valueBytes: valueBytes, partitions: partitions, fillLingerMs: 5, partitionByKey: true)
        try fillMergedInput(fixture)
        for round in 0..<rounds {
            try fixture.cluster.createTopic("merge-out-single-\(round)", partitions: partitions)
            try fixture.cluster.createTopic("merge-out-merged-\(round)", partitions: partitions)
        }
        let appRound = AppRound(fixture: fixture, lingerMs: 5, idempotence: true, commitIntervalMs: 1000)
        var single: [PipeRun] = []
        var merged: [PipeRun] = []
        for round in 0..<rounds {
            try alternate(
                round: round,
                {
                    let output = "merge-out-single-\(round)"
                    let builder = StreamsBuilder()
                    filterAndMap(builder.stream("pipe-in", key: .optional(.bytes), value: .bytes)).to(output)
                    let (run, _) = try appRound.measure(
                        topology: try builder.build(), applicationID: "merge-bench-single-\(round)", output: output, round: round, label: "single")
                    try fixture.verify(topic: output)
                    progress("round \(round): single \(Int(run.rate)) records/s, \(Int(run.cpuNanosecondsPerRecord)) ns CPU/record")
                    single.append(run)
                },
                {
                    let output = "merge-out-merged-\(round)"
                    let builder = StreamsBuilder()
                    let a = builder.stream("merge-a", key: .optional(.bytes), value: .bytes)
                    let b = builder.stream("merge-b", key: .optional(.bytes), value: .bytes)
                    filterAndMap(a.merge(b)).to(output)
                    let (run, _) = try appRound.measure(
                        topology: try builder.build(), applicationID: "merge-bench-merged-\(round)", output: output, round: round, label: "merged"
                    ) { $0.maxBufferedRecordsPerPartition = maxBuffered }
                    try fixture.verify(topic: output)
                    progress("round \(round): merged \(Int(run.rate)) records/s, \(Int(run.cpuNanosecondsPerRecord)) ns CPU/record")
                    merged.append(run)
                })
        }
        var details: [String: Double] = [
            "partitions": Double(partitions), "value_bytes": Double(valueBytes), "max_buffered_per_partition": Double(maxBuffered),
            "merged_median_rate": median(merged.map(\.rate)).rounded(), "single_median_rate": median(single.map(\.rate)).rounded(),
            "median_ratio": median(merged.map(\.rate)) / median(single.map(\.rate)),
            "merged_cpu_ns_per_record": median(merged.map(\.cpuNanosecondsPerRecord)).rounded(),
            "single_cpu_ns_per_record": median(single.map(\.cpuNanosecondsPerRecord)).rounded(),
        ]
        for (index, run) in merged.enumerated() { details["merged_round_\(index)"] = run.rate.rounded() }
        for (index, run) in single.enumerated() { details["single_round_\(index)"] = run.rate.rounded() }
        try BenchmarkReport(
            bench: "merge", records: records, rate: merged.map(\.rate).max() ?? 0,
            baseline: "stateless-single-input", baselineRate: single.map(\.rate).max() ?? 0, details: details
        ).print()
    }

    /// Writes `merge-a` and `merge-b`: record i to `a` when even, `b` when odd, keyed and
    /// stamped by i, so the two topics interleave in event time.
    private func fillMergedInput(_ fixture: PipeFixture) throws {
        let start: Int64 = 1_700_000_000_000
        var value = [UInt8](repeating: 0, count: valueBytes)
        for (topic, parity) in [("merge-a", 0), ("merge-b", 1)] {
            try fixture.cluster.createTopic(topic, partitions: partitions)
            let count = (records + 1 - parity) / 2
            progress("filling \(topic) with \(count) x \(valueBytes) B over \(partitions) partitions")
            try fillTopic(topic, count: count, base: fixture.base, lingerMs: 5, logger: fixture.logger) { half in
                let index = 2 * half + parity
                value[index % valueBytes] = UInt8(truncatingIfNeeded: index)
                return ProducerRecord(topic: topic, key: Array(String(index).utf8), value: value, timestamp: start + Int64(index))
            }
        }
        try verifyRetained("merge-a", partitions: partitions, records: (records + 1) / 2, inspector: fixture.inspectorConsumer)
        try verifyRetained("merge-b", partitions: partitions, records: records / 2, inspector: fixture.inspectorConsumer)
    }
}
