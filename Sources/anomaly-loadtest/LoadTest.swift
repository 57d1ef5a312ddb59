import ArgumentParser

@main
struct LoadTest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "anomaly-loadtest", abstract: "Drives /predict and /fit with keep-alive connections.")

    func run() throws {}
}
