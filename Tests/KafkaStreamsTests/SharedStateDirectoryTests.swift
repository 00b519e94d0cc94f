import ChaosScenarios
import Foundation
import KafkaStreams
import KafkaStreamsTesting
import Testing

/// Two instances of an application on one state directory would share its instance id,
/// hence their transactional ids, and fence each other forever: the second must fail at
/// start and say why. Shown with two real processes of the word-count sample.
@Suite struct SharedStateDirectoryTests {
    /// Whether process `pid` holds a `flock` on `path`, as Linux lists it in `/proc/locks`
    /// (`1: FLOCK  ADVISORY  WRITE <pid> <major>:<minor>:<inode> 0 EOF`): looking, unlike
    /// trying the lock, cannot get in the way of the process taking it.
    static func isLocked(_ path: String, by pid: Int32) -> Bool {
        guard let inode = (try? FileManager.default.attributesOfItem(atPath: path))?[.systemFileNumber] as? UInt64,
            let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8)
        else { return false }
        return locks.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count >= 6 && fields[1] == "FLOCK" && fields[4] == "\(pid)" && fields[5].hasSuffix(":\(inode)")
        }
    }

    @Test func aSecondInstanceOnTheSameStateDirectoryFailsAtStartWithAClearError() async throws {
        let executable = try ChildProcess.built("word-count")
        let kafka = try EmbeddedKafkaCluster(logger: streamsTestLogger)
        let scenario = WordCountScenario()
        for topic in scenario.topics { try kafka.createTopic(topic, partitions: 2) }
        let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("shared-state-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let arguments = [
            "--serve", "--bootstrap-servers", kafka.bootstrapServers, "--application-id", scenario.applicationID, "--state-dir", stateDirectory,
        ]

        let first = try ChildProcess(executable, arguments: arguments)
        defer { if first.process.isRunning { first.process.terminate() } }
        let lockFile = "\(stateDirectory)/\(scenario.applicationID)/.lock"
        try await first.wait(timeout: .seconds(60)) { _ in Self.isLocked(lockFile, by: first.process.processIdentifier) }
        try #require(Self.isLocked(lockFile, by: first.process.processIdentifier), "the first instance did not start: \(first.text)")

        let second = try ChildProcess(executable, arguments: arguments)
        let secondStopped = try await second.waitForExit(timeout: .seconds(60))
        #expect(secondStopped, "the second instance must stop at start")
        if !secondStopped {
            second.process.interrupt()
            _ = try await second.waitForExit(timeout: .seconds(30))
        }
        #expect(!second.process.isRunning && second.process.terminationStatus != 0)
        #expect(second.text.contains("another instance of application \(scenario.applicationID) runs on state directory"), "\(second.text)")

        // The first is unharmed: it stops cleanly on SIGTERM.
        #expect(first.process.isRunning)
        first.process.terminate()
        #expect(try await first.waitForExit(timeout: .seconds(60)), "the first instance must stop on SIGTERM")
        #expect(!first.process.isRunning && first.process.terminationStatus == 0, "\(first.text)")
    }
}
