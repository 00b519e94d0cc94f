import Foundation
import KafkaStreams
import RdKafka

/// The stateless benchmarks' processing: keep non-empty values, change their first byte.
func filterAndMap(_ stream: KStream<[UInt8]?, [UInt8]>) -> KStream<[UInt8]?, [UInt8]> {
    stream
        .filter { _, value in !value.isEmpty }
        .mapValues { value in
            var changed = value
            changed[0] &+= 1
            return changed
        }
}

/// One timed round of a `StreamsApp` piping the fixture's records into an output topic:
/// timed from the moment the group has assigned every task (the mock's join takes seconds
/// and is reported apart) until the output holds every record.
struct AppRound {
    let fixture: PipeFixture
    let lingerMs: Int
    let idempotence: Bool
    let commitIntervalMs: Int

    private static let timerLabels = ["kafka_streams_poll_latency", "kafka_streams_process_latency", "kafka_streams_commit_latency"]

    /// Runs `topology` (writing `output`) until `output` holds the fixture's record count;
    /// returns the run and how long the group join took.
    func measure(
        topology: Topology, applicationID: String, output: String, round: Int, label: String = "Swift",
        configure: (inout StreamsConfiguration) -> Void = { _ in }
    ) throws -> (PipeRun, Double) {
        let records = fixture.records
        var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: fixture.cluster.bootstrapServers)
        configuration.commitInterval = .milliseconds(commitIntervalMs)
        configuration.consumerProperties = KafkaConfiguration(properties: [
            "fetch.wait.max.ms": "10", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
        ])
        configuration.producerProperties = KafkaConfiguration(properties: [
            "linger.ms": String(lingerMs), "enable.idempotence": String(idempotence),
        ])
        configure(&configuration)
        // Counted from before the app starts: its thread may process a first batch between
        // the assignment and this thread's next look at it.
        let processed = ProcessedCounter.shared
        let before = processed.value
        let app = try StreamsApp(topology: topology, configuration: configuration, logger: fixture.logger)
        let running = BackgroundApp(app)
        let clock = ContinuousClock()
        let launched = clock.now
        while app.activeTasks.count < fixture.partitions && clock.now - launched < .seconds(60) {
            Thread.sleep(forTimeInterval: 0.001)
        }
        let join = (clock.now - launched).fractionalSeconds
        let timersBefore = Self.timerLabels.map { processed.seconds(of: $0) }
        let run = try PipeRun.measure(records: records) {
            let start = clock.now
            let early = processed.value - before
            // Watch the app's own processed counter (in memory) first: asking the broker
            // for watermarks every few milliseconds would load it and slow the pipe.
            while processed.value - before < Int64(records) && clock.now - start < .seconds(300) {
                Thread.sleep(forTimeInterval: 0.002)
            }
            while try fixture.count(topic: output) < Int64(records) && clock.now - start < .seconds(300) {
                Thread.sleep(forTimeInterval: 0.005)
            }
            return Double(Int64(records) - early) / (clock.now - start).fractionalSeconds
        }
        let spent = zip(Self.timerLabels, timersBefore).map { label, start in
            "\(label.dropFirst("kafka_streams_".count)) \(String(format: "%.2f", processed.seconds(of: label) - start)) s"
        }
        progress("round \(round): \(label) stream threads spent \(spent.joined(separator: ", "))")
        try running.stop()
        return (run, (join * 100).rounded() / 100)
    }
}
