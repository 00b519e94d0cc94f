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
/// query and must equal a direct count. Peak RSS is the whole process's, embedded broker
/// included; the resident size just before each app starts is given beside it.
///
/// With `--baseline-binary`, every round of both builds runs as a child process (this
/// binary, or a `streams-bench` built with the library of an earlier commit), each with its
/// own embedded broker and a fresh heap, rounds alternating which build goes first; the
/// report compares the medians of the rounds. `rate` is the vocabulary run's words/s
/// (median over rounds).
struct WordCountBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wordcount", abstract: "Word count through StreamsApp: lines/s, words/s, peak RSS; optionally against an earlier build.")

    @Option(help: "Lines of the vocabulary run.") var lines = 200_000
    @Option(help: "Words per line.") var wordsPerLine = 8
    @Option(help: "Distinct words of the vocabulary run.") var vocabulary = 1000
    @Option(help: "Distinct keys of the distinct-keys run (0 skips it).") var distinctKeys = 1_000_000
    @Option(help: "Partitions per topic (the mock keeps ~5 MiB per partition).") var partitions = 16
    @Option(help: "Commit interval of the app, in milliseconds.") var commitIntervalMs = 1000
    @Option(help: "Rounds (each: the vocabulary run, then the distinct-keys run).") var rounds = 1
    @Option(help: "A streams-bench built from an earlier commit (scripts/build-baseline.sh), run as the baseline each round.")
    var baselineBinary: String?

    func run() throws {
        guard let baselineBinary else {
            try report(current: try measureInProcess(), baseline: [])
            return
        }
        var current: [RoundResult] = []
        var baseline: [RoundResult] = []
        for round in 0..<rounds {
            try alternate(
                round: round,
                { baseline.append(try runChild(baselineBinary, label: "round \(round): baseline")) },
                { current.append(try runChild(Bundle.main.executablePath ?? CommandLine.arguments[0], label: "round \(round): this build")) })
        }
        try report(current: current, baseline: baseline)
    }

    /// The rounds in this process, a broker per round so no round holds the topics of the
    /// ones before.
    private func measureInProcess() throws -> [RoundResult] {
        _ = ProcessedCounter.shared  // before any app creates its metrics
        var logger = Logger(label: "streams-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let workload = WordCountWorkload(partitions: partitions, commitIntervalMs: commitIntervalMs)
        let vocabularyLines = WordCountWorkload.vocabularyLines(lines: lines, wordsPerLine: wordsPerLine, vocabulary: vocabulary)
        let distinctLines = stride(from: 0, to: distinctKeys, by: wordsPerLine).map { first in
            (first..<min(first + wordsPerLine, distinctKeys)).map { "key-\($0)" }.joined(separator: " ")
        }
        return try (0..<rounds).map { round in
            // What a round's broker and app freed stays in glibc's arenas; returning it
            // gives each round the same start.
            defer { ProcessMemory.returnFreedMemory() }
            let cluster = try MockCluster(brokers: 1, logger: logger)
            let common = try workload.measure("vocabulary-\(round)", lines: vocabularyLines, cluster: cluster, logger: logger)
            let distinct = try distinctKeys > 0 ? workload.measure("distinct-\(round)", lines: distinctLines, cluster: cluster, logger: logger) : nil
            return RoundResult(vocabulary: common, distinct: distinct)
        }
    }

    /// The words/s of one round of each run, from this build or from the baseline's JSON.
    struct RoundResult {
        var vocabularyWordsPerSecond: Double
        var distinctWordsPerSecond: Double?
        var details: [String: Double] = [:]

        init(vocabulary: WordCountWorkload.Run, distinct: WordCountWorkload.Run?) {
            vocabularyWordsPerSecond = vocabulary.wordsPerSecond
            distinctWordsPerSecond = distinct?.wordsPerSecond
            vocabulary.describe(into: &details, prefix: "")
            distinct?.describe(into: &details, prefix: "distinct_")
        }

        /// From a child's report: its rates, and its run's figures (lines, seconds, RSS).
        init?(report details: [String: Double]) {
            guard let rate = details["words_per_second"] else { return nil }
            vocabularyWordsPerSecond = rate
            distinctWordsPerSecond = details["distinct_words_per_second"]
            self.details = details.filter { !$0.key.hasPrefix("round") }
        }
    }

    /// One round of `binary` (this build or the baseline), as a child process with the
    /// same workload; prints its rates after `label`.
    private func runChild(_ binary: String, label: String) throws -> RoundResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "wordcount", "--lines", String(lines), "--words-per-line", String(wordsPerLine), "--vocabulary", String(vocabulary),
            "--distinct-keys", String(distinctKeys), "--partitions", String(partitions), "--commit-interval-ms", String(commitIntervalMs),
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchmarkFailure("\(binary) exited with status \(process.terminationStatus)") }
        let lastLine = String(decoding: data, as: UTF8.self).split(separator: "\n").last { $0.hasPrefix("{") }
        struct Report: Decodable { let details: [String: Double] }
        guard let lastLine, let report = try? JSONDecoder().decode(Report.self, from: Data(lastLine.utf8)),
              let result = RoundResult(report: report.details)
        else { throw BenchmarkFailure("\(binary) printed no wordcount JSON line") }
        progress("\(label) \(Int(result.vocabularyWordsPerSecond)) words/s vocabulary, \(Int(result.distinctWordsPerSecond ?? 0)) words/s distinct")
        return result
    }

    private func report(current: [RoundResult], baseline: [RoundResult]) throws {
        var details: [String: Double] = [
            "partitions": Double(partitions), "words_per_line": Double(wordsPerLine), "commit_interval_ms": Double(commitIntervalMs),
            "vocabulary": Double(vocabulary), "rounds": Double(rounds),
        ]
        if distinctKeys > 0 { details["distinct_keys"] = Double(distinctKeys) }
        // The middle round's own figures (lines, seconds, RSS), then the medians over rounds.
        let middle = current.sorted { $0.vocabularyWordsPerSecond < $1.vocabularyWordsPerSecond }[current.count / 2]
        details.merge(middle.details) { _, new in new }
        let words = median(current.map(\.vocabularyWordsPerSecond))
        details["words_per_second"] = words.rounded()
        details["lines_per_second"] = (words / Double(wordsPerLine)).rounded()
        let distinct = median(current.compactMap(\.distinctWordsPerSecond))
        if distinctKeys > 0 { details["distinct_words_per_second"] = distinct.rounded() }
        for (index, result) in current.enumerated() {
            details["round_\(index)_words_per_second"] = result.vocabularyWordsPerSecond.rounded()
            if let rate = result.distinctWordsPerSecond { details["round_\(index)_distinct_words_per_second"] = rate.rounded() }
        }
        guard !baseline.isEmpty else {
            try BenchmarkReport(bench: "wordcount", records: lines * wordsPerLine, rate: words, details: details).print()
            return
        }
        let baselineWords = median(baseline.map(\.vocabularyWordsPerSecond))
        details["baseline_words_per_second"] = baselineWords.rounded()
        details["ratio"] = baselineWords > 0 ? words / baselineWords : 0
        if distinctKeys > 0 {
            let baselineDistinct = median(baseline.compactMap(\.distinctWordsPerSecond))
            details["distinct_baseline_words_per_second"] = baselineDistinct.rounded()
            details["distinct_ratio"] = baselineDistinct > 0 ? distinct / baselineDistinct : 0
        }
        for (index, result) in baseline.enumerated() {
            details["baseline_round_\(index)_words_per_second"] = result.vocabularyWordsPerSecond.rounded()
            if let rate = result.distinctWordsPerSecond { details["baseline_round_\(index)_distinct_words_per_second"] = rate.rounded() }
        }
        try BenchmarkReport(
            bench: "wordcount", records: lines * wordsPerLine, rate: words, baseline: "streams-bench at \(baselineBinary ?? "")",
            baselineRate: baselineWords, details: details
        ).print()
    }
}
