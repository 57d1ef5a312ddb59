import ArgumentParser
import ServiceSupport

@main
struct TrainingService: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training-service",
        abstract: "Trains 3-sigma models: POST /fit/{series_id}."
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        try ServiceRunner(service: "training", defaultPort: 8000).run(options: options)
    }
}
