import ArgumentParser

@main
struct StreamsChaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams-chaos",
        abstract: "Crashes stream processing applications on purpose and checks that nothing is lost or repeated.",
        subcommands: [SimulateCrashes.self])
}
