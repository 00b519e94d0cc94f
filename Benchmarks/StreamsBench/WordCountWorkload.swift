import Foundation
import KafkaStreams
import Logging
import RdKafka

/// The word count (`flatMapValues` → `groupBy` through a repartition topic → `count` in
/// RocksDB with a changelog → output) run by `StreamsApp` on the embedded broker, timed
/// from the moment the group has assigned every task until the app has processed every
/// line and every word; then its store is read back through an interactive query and
/// must equal a direct count.
struct WordCountWorkload {
    var partitions: Int
    var commitIntervalMs: Int
    var guarantee: StreamsConfiguration.ProcessingGuarantee = .atLeastOnce

    /// `lines` lines of `wordsPerLine` words drawn from a vocabulary of `vocabulary` words.
    static func vocabularyLines(lines: Int, wordsPerLine: Int, vocabulary: Int) -> [String] {
        let words = (0..<vocabulary).map { "w\($0)-" + String(repeating: "x", count: $0 % 7) }
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        return (0..<lines).map { _ in
            (0..<wordsPerLine).map { _ in words[Int(xorshift(&state) % UInt64(vocabulary))] }.joined(separator: " ")
        }
    }

    struct Run {
        let lines: Int
        let words: Int
        let seconds: Double
        let residentBeforeBytes: Double
        let peakResidentBytes: Double

        var linesPerSecond: Double { Double(lines) / seconds }
        var wordsPerSecond: Double { Double(words) / seconds }

        func describe(into details: inout [String: Double], prefix: String) {
            details[prefix + "lines"] = Double(lines)
            details[prefix + "words"] = Double(words)
            details[prefix + "lines_per_second"] = linesPerSecond.rounded()
            details[prefix + "words_per_second"] = (Double(words) / seconds).rounded()
            details[prefix + "seconds"] = seconds
            details[prefix + "rss_before_app_mib"] = (residentBeforeBytes / 1_048_576).rounded()
            details[prefix + "peak_rss_mib"] = (peakResidentBytes / 1_048_576).rounded()
        }
    }

    func measure(_ name: String, lines: [String], cluster: MockCluster, logger: Logger) throws -> Run {
        let input = "wc-lines-\(name)"
        try cluster.createTopic(input, partitions: partitions)
        try fill(input, lines: lines, cluster: cluster, logger: logger)
        let truth = lines.reduce(into: [String: Int64]()) { counts, line in
            for word in line.split(separator: " ") { counts[String(word), default: 0] += 1 }
        }
        let words = truth.values.reduce(0, +)

        let builder = StreamsBuilder()
        builder.stream(input, key: .string, value: .string)
            .flatMapValues { line in line.split(separator: " ").map(String.init) }
            .groupBy(key: .string) { _, word in word }
            .count(materialized: .as("counts"))
            .toStream()
            .to("wc-counts-\(name)", key: .string, value: .optional(.int64))
        let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("streams-bench-wordcount-\(name)").path
        try? FileManager.default.removeItem(atPath: stateDirectory)
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        var configuration = StreamsConfiguration(applicationID: "wordcount-bench-\(name)", bootstrapServers: cluster.bootstrapServers)
        configuration.processingGuarantee = guarantee
        configuration.stateDirectory = stateDirectory
        configuration.commitInterval = .milliseconds(commitIntervalMs)
        configuration.consumerProperties = KafkaConfiguration(properties: [
            "fetch.wait.max.ms": "10", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
        ])
        ProcessMemory.resetPeak()
        let residentBefore = ProcessMemory.residentBytes
        // Taken before the app starts: it may process records before the wait for its
        // tasks returns, and a target taken after those would never be reached.
        let processed = ProcessedCounter.shared
        let target = processed.value + Int64(lines.count) + words
        let running = BackgroundApp(try StreamsApp(topology: try builder.build(), configuration: configuration, logger: logger))
        // Two sub-topologies (before and after the repartition), one task per partition each.
        guard running.wait(timeout: .seconds(60), until: { running.app.activeTasks.count == 2 * partitions }) else {
            try running.stop()
            throw BenchmarkFailure("the group did not assign every task in time")
        }
        let timers = ["kafka_streams_poll_latency", "kafka_streams_process_latency", "kafka_streams_commit_latency"]
        let timersBefore = timers.map { processed.seconds(of: $0) }
        let clock = ContinuousClock()
        let start = clock.now
        let finished = running.wait(timeout: .seconds(600)) { processed.value >= target }
        let elapsed = (clock.now - start).fractionalSeconds
        let counts = try running.app.store(named: "counts", key: String.self, value: Int64.self)
        let stored = try counts.all()
        let peak = ProcessMemory.peakResidentBytes
        try running.stop()
        guard finished else { throw BenchmarkFailure("\(name): processed \(processed.value - (target - Int64(lines.count) - words)) of \(Int64(lines.count) + words) records in time") }
        guard stored.count == truth.count, stored.allSatisfy({ truth[$0.key] == $0.value }) else {
            throw BenchmarkFailure("\(name): the store holds \(stored.count) words, not the direct count of \(truth.count)")
        }
        let run = Run(lines: lines.count, words: Int(words), seconds: elapsed, residentBeforeBytes: residentBefore, peakResidentBytes: peak)
        // Where the stream thread's time went (polls include empty ones: waits for data).
        let spent = zip(timers, timersBefore).map { label, before in
            "\(label.dropFirst("kafka_streams_".count).dropLast("_latency".count)) \(String(format: "%.2f", processed.seconds(of: label) - before)) s"
        }
        progress("\(name): \(Int(run.linesPerSecond)) lines/s, \(Int(Double(words) / elapsed)) words/s, \(truth.count) distinct words, peak RSS \(Int(peak / 1_048_576)) MiB; \(spent.joined(separator: ", "))")
        return run
    }

    private func fill(_ topic: String, lines: [String], cluster: MockCluster, logger: Logger) throws {
        progress("filling \(topic) with \(lines.count) lines over \(partitions) partitions")
        var base = KafkaConfiguration()
        base.bootstrapServers = [cluster.bootstrapServers]
        try fillTopic(topic, count: lines.count, base: base, lingerMs: 5, logger: logger) { index in
            ProducerRecord(topic: topic, key: Array(String(index).utf8), value: Array(lines[index].utf8))
        }
    }
}

private func xorshift(_ state: inout UInt64) -> UInt64 {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
}
