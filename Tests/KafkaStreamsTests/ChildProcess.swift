import Foundation
import Synchronization
import Testing

/// A child process whose standard output and error are collected as they come.
final class ChildProcess {
    /// The package root, where `scripts/run-tests.sh` builds the executables before the tests.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// An executable of this package, which `scripts/run-tests.sh` builds before the tests.
    static func built(_ product: String) throws -> URL {
        let url = packageRoot.appendingPathComponent(".build/debug/\(product)")
        try #require(FileManager.default.isExecutableFile(atPath: url.path), "build it first: swift build --product \(product)")
        return url
    }

    let process = Process()
    private let output = Output()

    private final class Output: Sendable {
        let text = Mutex("")
        /// Whether the pipe reached its end: everything the child wrote is in `text`.
        let ended = Atomic(false)
    }

    init(_ executable: URL, arguments: [String]) throws {
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [output] handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                output.ended.store(true, ordering: .releasing)
                return
            }
            output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var text: String { output.text.withLock { $0 } }

    /// Waits until the process has ended and its output has all been read, or `timeout`;
    /// returns whether it ended. (Foundation's `waitUntilExit()` can miss the end of a
    /// child on Linux and wait forever; and the last output may still be in the pipe when
    /// the child is gone.)
    func waitForExit(timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        while !output.ended.load(ordering: .acquiring) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }

    /// Waits until `condition` holds of the output, or the process ends, or `timeout`.
    func wait(timeout: Duration, until condition: (String) -> Bool) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !condition(text) && process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
