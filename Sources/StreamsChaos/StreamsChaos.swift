import ArgumentParser
import Foundation

@main
struct StreamsChaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams-chaos",
        abstract: "Crashes stream processing applications on purpose and checks that nothing is lost or repeated.",
        subcommands: [SimulateCrashes.self, KillAndRestart.self])
}

/// Writes a line to stdout at once (unbuffered), so a long run can be followed in a log file.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
