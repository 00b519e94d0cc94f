import ArgumentParser

/// `streams-chaos kill`: real processes, killed with SIGKILL.
struct KillProcesses: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill", abstract: "Runs a sample application as a child process and SIGKILLs it at random, checking no input is lost.")

    @Option(help: "How many times to kill the application.") var kills = 20

    func run() async throws {
        throw ValidationError("not built yet")
    }
}
