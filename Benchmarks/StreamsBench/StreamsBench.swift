import ArgumentParser

/// Benchmarks of swift-kafka-streams, each against a baseline measured in the same run.
/// Run in release: `swift run -c release streams-bench <subcommand>`. Each subcommand
/// prints progress on stderr and one JSON object as its last stdout line.
@main
struct StreamsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams-bench",
        abstract: "Throughput benchmarks; each prints a JSON line with rate, baseline_rate and ratio.",
        subcommands: [
            ClientPipeBenchmark.self, RocksDBBenchmark.self, StatelessBenchmark.self, MergeBenchmark.self, RestoreBenchmark.self, WordCountBenchmark.self, EOSBenchmark.self, WindowedBenchmark.self, JoinBenchmark.self, LatencyBenchmark.self, ReplayBenchmark.self,
        ])
}
