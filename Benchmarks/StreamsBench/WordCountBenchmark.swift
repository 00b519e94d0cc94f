import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka

/// The word count (`flatMapValues` → `groupBy` through a repartition topic → `count` in
/// RocksDB with a changelog → output), at-least-once, run by `StreamsApp` on the embedded
/// broker. Two inputs: lines of words from a small vocabulary (the cache coalesces most
/// updates), and lines whose every word is distinct (a million keys: every update reaches
/// the store, changelog and output).
///
/// Each run is timed from the moment the group has assigned every task until the app has
/// processed every line and every word; then its store is read back through an interactive
/// query and must equal a direct count. There is no baseline: the figures are absolute.
/// Peak RSS is the whole process's, embedded broker included; the resident size just
/// before each app starts is given beside it.
struct WordCountBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wordcount", abstract: "Word count through StreamsApp: lines/s, words/s, peak RSS.")

    @Option(help: "Lines of the vocabulary run.") var lines = 200_000
    @Option(help: "Words per line.") var wordsPerLine = 8
    @Option(help: "Distinct words of the vocabulary run.") var vocabulary = 1000
    @Option(help: "Distinct keys of the distinct-keys run (0 skips it).") var distinctKeys = 1_000_000
    @Option(help: "Partitions per topic (the mock keeps ~5 MiB per partition).") var partitions = 16
    @Option(help: "Commit interval of the app, in milliseconds.") var commitIntervalMs = 1000

    func run() throws {
        _ = ProcessedCounter.shared  // before any app creates its metrics
        var logger = Logger(label: "streams-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: 1, logger: logger)
        var details: [String: Double] = ["partitions": Double(partitions), "words_per_line": Double(wordsPerLine), "commit_interval_ms": Double(commitIntervalMs)]

        let workload = WordCountWorkload(partitions: partitions, commitIntervalMs: commitIntervalMs)
        let vocabularyLines = WordCountWorkload.vocabularyLines(lines: lines, wordsPerLine: wordsPerLine, vocabulary: vocabulary)
        let common = try workload.measure("vocabulary", lines: vocabularyLines, cluster: cluster, logger: logger)
        common.describe(into: &details, prefix: "")
        details["vocabulary"] = Double(vocabulary)

        if distinctKeys > 0 {
            let distinctLines = stride(from: 0, to: distinctKeys, by: wordsPerLine).map { first in
                (first..<min(first + wordsPerLine, distinctKeys)).map { "key-\($0)" }.joined(separator: " ")
            }
            let distinct = try workload.measure("distinct", lines: distinctLines, cluster: cluster, logger: logger)
            distinct.describe(into: &details, prefix: "distinct_")
            details["distinct_keys"] = Double(distinctKeys)
        }
        try BenchmarkReport(bench: "wordcount", records: lines, rate: common.linesPerSecond, details: details).print()
    }
}
