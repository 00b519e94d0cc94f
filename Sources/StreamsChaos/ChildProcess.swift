import Foundation

/// A program `streams-chaos` starts, with its standard output and error in a log file.
final class ChildProcess: @unchecked Sendable {
    // Process is not Sendable; this class is used from the one thread that runs the command.
    private let process = Process()
    let logPath: String

    /// Starts `executable` (a file beside this one) with `arguments`.
    init(_ executable: String, _ arguments: [String], logPath: String, standardOutput: Pipe? = nil) throws {
        let path = Self.sibling(executable)
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw KillRunFailure("\(path) is not there: build it first (swift build --product \(executable))")
        }
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw KillRunFailure("cannot create the log file \(logPath)")
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = standardOutput ?? log
        process.standardError = log
        self.logPath = logPath
        try process.run()
        try log.close()
    }

    var isRunning: Bool { process.isRunning }

    /// Sends `signal` (nothing if the process has ended).
    func send(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the end; the exit status, or nil after `timeout`.
    func wait(timeout: Duration) -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return process.terminationReason == .uncaughtSignal
            ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
    }

    /// Kills it for good (cleanup paths): SIGTERM, then SIGKILL after `grace`.
    func stop(grace: Duration = .seconds(5)) {
        send(SIGTERM)
        if wait(timeout: grace) == nil {
            send(SIGKILL)
            _ = wait(timeout: .seconds(5))
        }
    }

    /// The last lines of the log, for failure reports.
    func logTail(lines: Int = 15) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .signalled(let signal): "signal \(signal)"
            }
        }
    }

    private static func sibling(_ executable: String) -> String {
        let own = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return own.deletingLastPathComponent().appendingPathComponent(executable).path
    }
}

/// `embedded-kafka` in a process of its own, so the application's kills leave it running.
final class EmbeddedKafkaProcess: Sendable {
    private let child: ChildProcess
    let bootstrapServers: String

    init(topics: [String], partitions: Int, logPath: String) throws {
        let output = Pipe()
        child = try ChildProcess("embedded-kafka", topics.flatMap { ["--topic", "\($0):\(partitions)"] }, logPath: logPath, standardOutput: output)
        // The first line is `BOOTSTRAP=host:port`; end of file means it died first.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                throw KillRunFailure("embedded-kafka stopped before serving:\n\(child.logTail())")
            }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self).split(separator: "\n")[0]
        guard text.hasPrefix("BOOTSTRAP=") else { throw KillRunFailure("embedded-kafka printed \"\(text)\"") }
        bootstrapServers = String(text.dropFirst("BOOTSTRAP=".count))
    }

    func stop() { child.stop() }
}

/// Why a `kill` run could not go on (a missing executable, a broker that did not start, ...).
struct KillRunFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
