import ArgumentParser
import Foundation
import Logging
import RdKafka

/// Serves librdkafka's mock cluster on loopback until SIGTERM or SIGINT, for demos,
/// multi-process tests and other Kafka clients (kcat, ...).
@main
struct EmbeddedKafkaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedded-kafka",
        abstract: "Run librdkafka's in-process mock Kafka cluster on loopback.",
        discussion: """
            Prints BOOTSTRAP=<host:port,...> as the first line of standard output, then serves \
            until SIGTERM or SIGINT. The mock cluster does not support CreateTopics: create topics \
            here with --topic. It keeps only about 5 MiB per partition and does not honour \
            transactions (see the "Running in production" article).
            """)

    @Option(help: "Number of brokers.")
    var brokers: Int = 1

    @Option(name: .customLong("topic"), help: "A topic to create, as name:partitions (repeatable).")
    var topics: [TopicSpec] = []

    @Option(help: "Log level of librdkafka's messages (trace, debug, info, notice, warning, error, critical).")
    var logLevel: Logger.Level = .warning

    func validate() throws {
        guard brokers >= 1 else { throw ValidationError("--brokers must be at least 1") }
    }

    func run() throws {
        // Block the termination signals before librdkafka starts threads (they inherit
        // the mask), so that only sigwait below receives them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        var logger = Logger(label: "embedded-kafka") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = logLevel
        let cluster = try MockCluster(brokers: brokers, logger: logger)
        for topic in topics {
            try cluster.createTopic(topic.name, partitions: topic.partitions, replicationFactor: min(brokers, 3))
        }
        // Unbuffered, so a parent process reading a pipe sees it at once.
        FileHandle.standardOutput.write(Data("BOOTSTRAP=\(cluster.bootstrapServers)\n".utf8))
        logger.info("serving", metadata: ["brokers": "\(brokers)", "topics": "\(topics.map(\.name))"])

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("stopping", metadata: ["signal": "\(received)"])
        withExtendedLifetime(cluster) {}
    }
}

/// `name:partitions`, as given to `--topic`.
struct TopicSpec: ExpressibleByArgument {
    let name: String
    let partitions: Int

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let partitions = Int(parts[1]), partitions > 0 else { return nil }
        name = String(parts[0])
        self.partitions = partitions
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
