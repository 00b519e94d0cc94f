import KafkaStreams
import KafkaStreamsTesting
import Testing

/// `StreamsApp.pause()` and `resume()` on the embedded broker: a paused application stays
/// in its group and processes nothing; resumed, it goes on from where it stopped.
@Suite struct PauseRuntimeTests {
    @Test func aPausedAppProcessesNothingAndResumesWhereItStopped() async throws {
        let metrics = TestMetrics()
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("pause-lines", partitions: 2)
        let first = BoundedRunRuntimeTests.lines(0..<200)
        try await kafka.produceValues("pause-lines", first, keys: first.indices.map { "k\($0)" })
        var configuration = kafka.streamsConfiguration(applicationID: "pause-app")
        configuration.commitInterval = .milliseconds(200)
        let app = try StreamsApp(
            topology: try BoundedRunRuntimeTests.wordCount(input: "pause-lines", output: "pause-counts"), configuration: configuration,
            logger: streamsTestLogger)
        app.pause()
        #expect(app.isPaused)
        let running = RunningApp(app)

        /// Waits until the paused app has its tasks and has polled 10 more times: enough for
        /// records to arrive had its partitions been fetched (each poll waits 100 ms).
        func waitWhilePausedWithTasks() async throws {
            #expect(try await waitUntil { app.activeTasks.count == 4 })
            let polls = metrics.timings("kafka_streams_poll_latency", application: "pause-app")
            #expect(try await waitUntil { metrics.timings("kafka_streams_poll_latency", application: "pause-app") >= polls + 10 })
        }

        try await waitWhilePausedWithTasks()
        #expect(metrics.total("kafka_streams_records_consumed_total", application: "pause-app") == 0)
        #expect(metrics.total("kafka_streams_records_processed_total", application: "pause-app") == 0)

        app.resume()
        #expect(!app.isPaused)
        let ends = try await kafka.endOffsets("pause-lines")
        #expect(try await kafka.waitForCommits(group: "pause-app", topic: "pause-lines", expected: ends) == ends)

        // Paused again, with records written meanwhile: none is processed until resumed,
        // and then every one is, once.
        app.pause()
        try await waitWhilePausedWithTasks()
        let processed = metrics.total("kafka_streams_records_processed_total", application: "pause-app")
        #expect(processed > 0)
        let later = BoundedRunRuntimeTests.lines(200..<300)
        try await kafka.produceValues("pause-lines", later, keys: later.indices.map { "later-k\($0)" })
        try await waitWhilePausedWithTasks()
        #expect(metrics.total("kafka_streams_records_processed_total", application: "pause-app") == processed)
        app.resume()
        let laterEnds = try await kafka.endOffsets("pause-lines")
        #expect(try await kafka.waitForCommits(group: "pause-app", topic: "pause-lines", expected: laterEnds) == laterEnds)
        try await running.stop().get()
        #expect(try await BoundedRunRuntimeTests.lastCounts(kafka, "pause-counts") == BoundedRunRuntimeTests.expectedCounts(first + later))
    }
}
