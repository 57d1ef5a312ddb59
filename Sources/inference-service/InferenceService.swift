import ArgumentParser
import ServiceSupport

@main
struct InferenceService: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference-service",
        abstract: "Answers whether a point is anomalous: POST /predict/{series_id}."
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        try ServiceRunner(service: "inference", defaultPort: 8001).run(options: options)
    }
}
