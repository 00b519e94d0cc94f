import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka

/// Windowed counts through `StreamsApp` on the embedded broker against the plain key-value
/// `count` of the same events in the same run: events over 1,000 keys, event time advancing
/// ~100 events per second with up to 2 s of disorder (about 2.8 hours of event time per
/// million events). Tumbling 60 s, hopping 60 s / 10 s and sessions (gap 30 s) count with
/// the record cache on, emitting on update, at-least-once; the tumbling run keeps its windows
/// 10 minutes, so its store expires segments as stream time moves through the hours. Each
/// run is timed from the group's assignment of every task until every event is processed
/// (a key-value run lasts well under a second, so it is noisy: `--rounds` repeats all the
/// runs in turn, and the ratios are of the median rates); after the first tumbling run, its
/// state directory's size is compared with what one retention of windows holds.
struct WindowedBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "windowed", abstract: "Tumbling, hopping and session counts vs a key-value count of the same events.")

    @Option(help: "Events.") var events = 1_000_000
    @Option(help: "Distinct keys.") var keys = 1000
    @Option(help: "Partitions of the input topic (the mock keeps ~5 MiB per partition).") var partitions = 16
    @Option(help: "Windows in the changelog the restore run restores (0: no restore run).") var restoreRecords = 1_000_000
    @Option(help: "Runs to make, comma-separated (keyvalue, tumbling, hopping, session).") var runs = "keyvalue,tumbling,hopping,session"
    @Option(help: "Rounds of the runs, one after the other, and of the restore against the C floor; the ratios are of the median rates.") var rounds = 5
    @Option(help: "The record cache's budget in bytes (default: the library's).") var recordCacheBytes: Int?

    /// How long the tumbling run keeps its windows: 10 minutes.
    static let tumblingRetention: Int64 = 600_000

    func run() throws {
        _ = ProcessedCounter.shared  // before any app creates its metrics
        var logger = Logger(label: "streams-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("events", partitions: partitions)
        try fill(cluster, logger: logger)
        let selected = Set(self.runs.split(separator: ",").map(String.init))
        let all: [(name: String, build: (KGroupedStream<String, [UInt8]>) -> Void)] = [
            ("keyvalue", { $0.count(materialized: .as("counts")) }),
            ("tumbling", { $0.windowedBy(.tumbling(size: .seconds(60), grace: .seconds(5))).count(materialized: .as("counts"), retention: .milliseconds(Self.tumblingRetention)) }),
            ("hopping", { $0.windowedBy(.hopping(size: .seconds(60), advance: .seconds(10), grace: .seconds(5))).count(materialized: .as("counts")) }),
            ("session", { $0.windowedBy(.session(gap: .seconds(30), grace: .seconds(5))).count(materialized: .as("counts")) }),
        ]
        let runs = all.filter { selected.contains($0.name) }
        var roundRates: [String: [Double]] = [:]
        var roundCPU: [String: [Double]] = [:]
        var details: [String: Double] = ["events": Double(events), "keys": Double(keys), "partitions": Double(partitions), "rounds": Double(rounds)]
        for round in 1...max(rounds, 1) {
            for (name, build) in runs {
                let builder = StreamsBuilder()
                build(builder.stream("events", key: .string, value: .bytes).groupByKey())
                let applicationID = "windowed-bench-\(name)-\(round)"
                let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("windowed-bench-\(getpid())-\(name)-\(round)").path
                defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
                let run = try measureProcessed(
                    try builder.build(), name: name, applicationID: applicationID, cluster: cluster, stateDirectory: stateDirectory,
                    partitions: partitions, records: events, logger: logger
                ) { configuration in
                    if let recordCacheBytes { configuration.recordCacheBytes = recordCacheBytes }
                }
                roundRates[name, default: []].append(run.rate)
                roundCPU[name, default: []].append(run.cpuNanosecondsPerRecord)
                if name == "tumbling" && round == 1 {
                    try measureTumblingState(stateDirectory: stateDirectory, applicationID: applicationID, into: &details)
                }
                progress("round \(round) \(name): \(Int(run.rate)) events/s, \(Int(run.cpuNanosecondsPerRecord)) ns CPU/event")
            }
        }
        var rates: [String: Double] = [:]
        for (name, measured) in roundRates {
            rates[name] = median(measured)
            details["\(name)_events_per_second"] = median(measured).rounded()
            details["\(name)_cpu_ns_per_event"] = median(roundCPU[name] ?? []).rounded()
            for (index, rate) in measured.enumerated() { details["\(name)_round\(index + 1)_events_per_second"] = rate.rounded() }
            progress("\(name): median \(Int(median(measured))) events/s of \(measured.map { Int($0) })")
        }
        if restoreRecords > 0 {
            // A round restores the store again into an empty directory, then times the C
            // floor: both vary by ±20% from one second to the next here, so the ratio is of
            // the medians of rounds that alternate them.
            try fillRestoreChangelog(records: restoreRecords, cluster: cluster, logger: logger)
            var restoreRates: [Double] = []
            var floorRates: [Double] = []
            for round in 1...max(rounds, 1) {
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("windowed-bench-\(getpid())-restore-\(round)").path
                defer { try? FileManager.default.removeItem(atPath: directory) }
                restoreRates.append(try restoreRate(records: restoreRecords, cluster: cluster, stateDirectory: directory, logger: logger))
                floorRates.append(try batchedPutRate(records: restoreRecords, path: directory + "-c-floor"))
                progress("round \(round) window store restore: \(Int(restoreRates[round - 1])) windows/s; RocksDB batched puts in C \(Int(floorRates[round - 1]))/s")
            }
            let (rate, floor) = (median(restoreRates), median(floorRates))
            details["restore_records"] = Double(restoreRecords)
            details["restore_records_per_second"] = rate.rounded()
            details["restore_floor_records_per_second"] = floor.rounded()
            details["restore_ratio"] = rate / floor
            progress("window store restore: \(restoreRecords) windows, median \(Int(rate))/s of \(restoreRates.map { Int($0) }); RocksDB batched puts in C, median \(Int(floor))/s of \(floorRates.map { Int($0) })")
        }
        let keyValue = rates["keyvalue"] ?? 0
        for name in ["tumbling", "hopping", "session"] { details["\(name)_ratio"] = (rates[name] ?? 0) / max(keyValue, 1) }
        details["peak_rss_mib"] = (ProcessMemory.peakResidentBytes / 1_048_576).rounded()
        try BenchmarkReport(
            bench: "windowed", records: events, rate: rates["tumbling"] ?? 0, baseline: "keyvalue-count", baselineRate: keyValue, details: details
        ).print()
    }

    /// Events in key order of partition (by murmur2, as the app's producers place keys),
    /// each ~10 ms of event time after the one before, less up to 2 s of disorder.
    private func fill(_ cluster: MockCluster, logger: Logger) throws {
        var base = KafkaConfiguration()
        base.bootstrapServers = [cluster.bootstrapServers]
        let start: Int64 = 1_700_000_000_000
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        progress("filling events with \(events) events over \(keys) keys")
        try fillTopic("events", count: events, base: base, lingerMs: 5, logger: logger) { index in
            let disorder = Int64(xorshift64(&state) % 2_000)
            return ProducerRecord(
                topic: "events", key: Array("k\(index % keys)".utf8), value: [UInt8(truncatingIfNeeded: index)],
                timestamp: start + Int64(index) * 10 - disorder)
        }
    }

    /// Compares the stopped tumbling run's store with what one retention of windows holds.
    private func measureTumblingState(stateDirectory: String, applicationID: String, into details: inout [String: Double]) throws {
        let hours = Double(events) * 0.01 / 3600
        let rawBytes = directorySize(stateDirectory)
        let state = try compactedState(stateDirectory: stateDirectory, applicationID: applicationID, store: "counts", retention: Self.tumblingRetention)
        details["tumbling_state_mib"] = (rawBytes / 1_048_576 * 100).rounded() / 100
        details["tumbling_compacted_mib"] = (state.tableBytes / 1_048_576 * 100).rounded() / 100
        details["tumbling_retention_mib"] = (state.retainedBytes / 1_048_576 * 100).rounded() / 100
        details["tumbling_state_ratio"] = state.tableBytes / max(state.retainedBytes, 1)
        progress(
            "tumbling state after \(String(format: "%.1f", hours)) h of event time with 10 min retention: "
                + "\(String(format: "%.2f", rawBytes / 1_048_576)) MiB on disk (WAL included), "
                + "\(String(format: "%.2f", state.tableBytes / 1_048_576)) MiB compacted, holding \(state.windows) windows; "
                + "one retention's windows (\(state.windowsInLastRetention)) are \(String(format: "%.2f", state.retainedBytes / 1_048_576)) MiB")
    }
}
