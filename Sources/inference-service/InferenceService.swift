import ArgumentParser
import ServiceSupport

@main
struct InferenceService: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference-service",
        abstract: "Answers whether a point is anomalous: POST /predict/{series_id}[?version=] and /predict/{series_id}/batch."
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        try ServiceRunner(service: "inference", defaultPort: 8001, prunesPredictionLog: true).run(options: options) { router, backend in
            PredictRoutes.add(to: &router, backend: backend)
        }
    }
}
