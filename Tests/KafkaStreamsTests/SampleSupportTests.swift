import KafkaStreamsTesting
import Logging
import SampleSupport
import Synchronization
import Testing

/// What a new user sees from `make run` must be free of client warnings about our own
/// settings.
@Suite struct SampleSupportTests {
    /// Keeps every message logged through it.
    struct CapturingLogHandler: LogHandler {
        final class Messages: Sendable {
            let all = Mutex<[String]>([])
        }

        let messages: Messages
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            messages.all.withLock { $0.append("\(merged) \(event.message)") }
        }
    }

    @Test func theOutputReaderGivesNoClientAPropertyOfAnotherKind() async throws {
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        try kafka.createTopic("sample-out", partitions: 2)
        let messages = CapturingLogHandler.Messages()
        let logger = Logger(label: "sample-support-tests") { _ in CapturingLogHandler(messages: messages) }
        _ = try await OutputReader.start(bootstrapServers: kafka.bootstrapServers, topics: ["sample-out"], logger: logger)
        // librdkafka logs configuration warnings while it creates a client, on the caller's
        // thread: they are in by now.
        let warnings = messages.all.withLock { $0 }.filter { $0.contains("CONFWARN") }
        #expect(warnings.isEmpty, "\(warnings)")
    }
}
