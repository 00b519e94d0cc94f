import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka

/// What exactly-once costs: the word count under exactly-once against the same word
/// count at-least-once, same input, same broker, both at a 100 ms commit interval (a
/// transaction per thread per commit). Rounds alternate between the two; the best round
/// of each is compared. The embedded broker does not honour transactions, but librdkafka
/// makes every transactional call against it (begin, offsets, commit with its
/// round trips), which is the cost measured here.
struct EOSBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eos", abstract: "Word count exactly-once vs at-least-once at a 100 ms commit interval (ratio = EOS / ALOS lines/s).")

    @Option(help: "Lines per round.") var lines = 100_000
    @Option(help: "Words per line.") var wordsPerLine = 8
    @Option(help: "Distinct words.") var vocabulary = 1000
    @Option(help: "Partitions per topic.") var partitions = 8
    @Option(help: "Commit interval, in milliseconds.") var commitIntervalMs = 100
    @Option(help: "Rounds of each guarantee.") var rounds = 3

    func run() throws {
        _ = ProcessedCounter.shared  // before any app creates its metrics
        var logger = Logger(label: "streams-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: 1, logger: logger)
        let input = WordCountWorkload.vocabularyLines(lines: lines, wordsPerLine: wordsPerLine, vocabulary: vocabulary)
        var best: [StreamsConfiguration.ProcessingGuarantee: Double] = [:]
        var details: [String: Double] = ["partitions": Double(partitions), "commit_interval_ms": Double(commitIntervalMs), "rounds": Double(rounds)]
        for round in 1...rounds {
            for (guarantee, label) in [(StreamsConfiguration.ProcessingGuarantee.atLeastOnce, "alos"), (.exactlyOnce, "eos")] {
                var workload = WordCountWorkload(partitions: partitions, commitIntervalMs: commitIntervalMs)
                workload.guarantee = guarantee
                let run = try workload.measure("\(label)-\(round)", lines: input, cluster: cluster, logger: logger)
                details["\(label)_round\(round)_lines_per_second"] = run.linesPerSecond.rounded()
                best[guarantee] = max(best[guarantee] ?? 0, run.linesPerSecond)
            }
        }
        let eos = best[.exactlyOnce] ?? 0
        let alos = best[.atLeastOnce] ?? 0
        details["words_per_line"] = Double(wordsPerLine)
        try BenchmarkReport(bench: "eos", records: lines, rate: eos, baseline: "word count at-least-once", baselineRate: alos, details: details).print()
    }
}
