import ArgumentParser
import Foundation
import KafkaStreams
import Logging
import RdKafka

/// Joins against the stateless pipe (filter + mapValues) over the same records, in one run:
/// 1M stream records joined with a 100k-key table (each record finds its key's row), and
/// 500k × 500k records joined within 10 s (each left record has one right partner, 1 s
/// later; keys recur every 50 s of event time). Rates are of input records processed.
struct JoinBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join", abstract: "Stream-table and stream-stream joins vs the stateless pipe over the same records.")

    @Option(help: "Stream records of the stream-table join (and of the stateless baseline).") var records = 1_000_000
    @Option(help: "Table rows (distinct keys) of the stream-table join.") var tableKeys = 100_000
    @Option(help: "Records per side of the stream-stream join.") var sideRecords = 500_000
    @Option(help: "Partitions of every topic (the mock keeps ~5 MiB per partition).") var partitions = 32
    @Option(help: "Rounds; the ratios are of the median rates.") var rounds = 3
    @Option(help: "Runs to make, comma-separated (stateless, stream-table, stream-stream).") var runs = "stateless,stream-table,stream-stream"

    static let start: Int64 = 1_700_000_000_000
    /// Keys of the stream-stream join: each recurs every this many records (ms).
    static let pairKeys = 50_000

    func run() throws {
        _ = ProcessedCounter.shared  // before any app creates its metrics
        var logger = Logger(label: "streams-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try fill(cluster, logger: logger)
        let selected = Set(self.runs.split(separator: ",").map(String.init))
        let all: [(name: String, records: Int, build: (StreamsBuilder, String) -> Void)] = [
            ("stateless", records, { builder, output in
                filterAndMap(builder.stream("join-stream", key: .optional(.bytes), value: .bytes)).to(output)
            }),
            ("stream-table", tableKeys + records, { builder, output in
                let profiles = builder.table("join-table", key: .string, value: .bytes)
                builder.stream("join-stream", key: .string, value: .bytes).join(profiles) { event, profile in Int64(event.count + profile.count) }
                    .to(output, value: .int64)
            }),
            ("stream-stream", 2 * sideRecords, { builder, output in
                let right = builder.stream("join-right", key: .string, value: .bytes)
                builder.stream("join-left", key: .string, value: .bytes)
                    .join(right, windows: .timeDifference(.seconds(10), grace: .seconds(1)), value: .bytes, otherValue: .bytes) { left, right in
                        Int64(left.count + right.count)
                    }
                    .to(output, value: .int64)
            }),
        ]
        var rates: [String: [Double]] = [:]
        var cpu: [String: [Double]] = [:]
        for round in 1...max(rounds, 1) {
            for (name, count, build) in all where selected.contains(name) {
                let output = "join-out-\(name)-\(round)"
                try cluster.createTopic(output, partitions: partitions)
                let builder = StreamsBuilder()
                build(builder, output)
                let applicationID = "join-bench-\(name)-\(round)"
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("join-bench-\(getpid())-\(name)-\(round)").path
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let run = try measureProcessed(
                    try builder.build(), name: name, applicationID: applicationID, cluster: cluster, stateDirectory: directory,
                    partitions: partitions, records: count, logger: logger)
                rates[name, default: []].append(run.rate)
                cpu[name, default: []].append(run.cpuNanosecondsPerRecord)
                progress("round \(round) \(name): \(Int(run.rate)) records/s, \(Int(run.cpuNanosecondsPerRecord)) ns CPU/record")
            }
        }
        var details: [String: Double] = [
            "records": Double(records), "table_keys": Double(tableKeys), "side_records": Double(sideRecords), "partitions": Double(partitions),
            "rounds": Double(rounds),
        ]
        for (name, measured) in rates {
            let key = name.replacingOccurrences(of: "-", with: "_")
            details["\(key)_records_per_second"] = median(measured).rounded()
            details["\(key)_cpu_ns_per_record"] = median(cpu[name] ?? []).rounded()
            for (index, rate) in measured.enumerated() { details["\(key)_round\(index + 1)_records_per_second"] = rate.rounded() }
            progress("\(name): median \(Int(median(measured))) records/s of \(measured.map { Int($0) })")
        }
        let stateless = median(rates["stateless"] ?? [])
        details["stream_table_ratio"] = median(rates["stream-table"] ?? []) / max(stateless, 1)
        details["stream_stream_ratio"] = median(rates["stream-stream"] ?? []) / max(stateless, 1)
        details["peak_rss_mib"] = (ProcessMemory.peakResidentBytes / 1_048_576).rounded()
        try BenchmarkReport(
            bench: "join", records: records, rate: median(rates["stream-table"] ?? []), baseline: "stateless", baselineRate: stateless,
            details: details
        ).print()
    }

    /// The table (row `k<i>` at the start), the stream (record i keyed `k<i mod tableKeys>`,
    /// an hour later plus i ms), and the two join sides (record i keyed
    /// `k<i mod pairKeys>` at i ms on the left, 1 s later on the right).
    private func fill(_ cluster: MockCluster, logger: Logger) throws {
        var base = KafkaConfiguration()
        base.bootstrapServers = [cluster.bootstrapServers]
        let value = [UInt8](repeating: 7, count: 20)
        let topics: [(name: String, count: Int, record: (Int) -> (key: String, time: Int64))] = [
            ("join-table", tableKeys, { ("k\($0)", Self.start) }),
            ("join-stream", records, { ("k\($0 % tableKeys)", Self.start + 3_600_000 + Int64($0)) }),
            ("join-left", sideRecords, { ("k\($0 % Self.pairKeys)", Self.start + Int64($0)) }),
            ("join-right", sideRecords, { ("k\($0 % Self.pairKeys)", Self.start + 1_000 + Int64($0)) }),
        ]
        for (name, count, record) in topics {
            try cluster.createTopic(name, partitions: partitions)
            progress("filling \(name) with \(count) records")
            try fillTopic(name, count: count, base: base, lingerMs: 5, logger: logger) { index in
                let (key, time) = record(index)
                return ProducerRecord(topic: name, key: Array(key.utf8), value: value, timestamp: time)
            }
        }
    }
}
