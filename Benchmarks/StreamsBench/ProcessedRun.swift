import Foundation
import KafkaStreams
import Logging
import RdKafka

/// Runs `topology` until its source nodes have processed `records` records, timed from the
/// moment the group has assigned every task (the mock's join takes seconds and is left
/// out); the rate is of the records processed in that time.
func measureProcessed(
    _ topology: Topology, name: String, applicationID: String, cluster: MockCluster, stateDirectory: String, partitions: Int, records: Int,
    logger: Logger, configure: (inout StreamsConfiguration) -> Void = { _ in }
) throws -> PipeRun {
    var configuration = StreamsConfiguration(applicationID: applicationID, bootstrapServers: cluster.bootstrapServers)
    configuration.stateDirectory = stateDirectory
    configuration.consumerProperties = KafkaConfiguration(properties: [
        "fetch.wait.max.ms": "10", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
    ])
    configure(&configuration)
    // Counted from before the app starts: its thread may process a first batch between
    // the assignment and this thread's next look at it.
    let processed = ProcessedCounter.shared
    let before = processed.value
    let app = try StreamsApp(topology: topology, configuration: configuration, logger: logger)
    let running = BackgroundApp(app)
    let clock = ContinuousClock()
    let launched = clock.now
    while app.activeTasks.count < partitions && clock.now - launched < .seconds(60) { Thread.sleep(forTimeInterval: 0.001) }
    let run = try PipeRun.measure(records: records) {
        let start = clock.now
        let early = processed.value - before
        while processed.value - before < Int64(records) && clock.now - start < .seconds(600) { Thread.sleep(forTimeInterval: 0.002) }
        guard processed.value - before >= Int64(records) else { throw BenchmarkFailure("\(name) processed \(processed.value - before) of \(records) records") }
        return Double(Int64(records) - early) / (clock.now - start).fractionalSeconds
    }
    try running.stop()
    return run
}
