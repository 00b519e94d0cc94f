import ChaosScenarios
import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// The plumbing of `streams-chaos kill --bootstrap-servers --exactly-once`, which users run
/// against a real Kafka: here against a broker of the test's own (the mock, which cannot
/// show exactly-once itself, so the run has no kills).
@Suite struct KillToolTests {
    @Test func aRunAgainstGivenServersUsesExactlyOnceAndReadsCommittedOutputs() async throws {
        let executable = try ChildProcess.built("streams-chaos")
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        // The mock cannot create topics through the admin API: make them as a user would.
        for topic in WordCountScenario().topics { try kafka.createTopic(topic, partitions: 4) }
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("kill-tool-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let arguments = ["kill", "--kills", "0", "--min-feed", "1", "--exactly-once", "--bootstrap-servers", kafka.bootstrapServers]

        let run = try ChildProcess(executable, arguments: arguments + ["--work-dir", workDirectory])
        #expect(try await run.waitForExit(timeout: .seconds(120)), "the run did not end: \(run.text)")
        #expect(run.process.terminationStatus == 0, "\(run.text)")
        let summary = try #require(run.text.split(separator: "\n").last { $0.hasPrefix("{") })
        let fields = try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Any]
        #expect(fields?["guarantee"] as? String == "exactly_once")
        #expect(fields?["broker"] as? String == kafka.bootstrapServers)
        #expect(fields?["lost"] as? Int == 0 && fields?["duplicated"] as? Int == 0)
        #expect((fields?["records"] as? Int ?? 0) > 0)
        #expect(fields?["drained"] as? Bool == true && fields?["clean_shutdown"] as? Bool == true)
        // The sample really ran exactly-once: it said so, and kept the instance id that
        // names its transactional ids.
        let log = try String(contentsOfFile: "\(workDirectory)/app-1.log", encoding: .utf8)
        #expect(log.contains("guarantee=exactly-once"))
        #expect(FileManager.default.fileExists(atPath: "\(workDirectory)/state/chaos-word-count/kafka-streams-process-metadata"))

        // Topics holding an earlier run's records would spoil the count: refused, clearly.
        let again = try ChildProcess(executable, arguments: arguments)
        #expect(try await again.waitForExit(timeout: .seconds(60)))
        #expect(again.process.terminationStatus != 0)
        #expect(again.text.contains("topic text-lines on \(kafka.bootstrapServers) already holds"), "\(again.text)")
    }
}
