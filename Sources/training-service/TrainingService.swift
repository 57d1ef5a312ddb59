import ArgumentParser
import ServiceSupport

@main
struct TrainingService: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training-service",
        abstract: "Trains 3-sigma models: POST /fit/{series_id}; lists them: GET /models. Also answers /predict."
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        try ServiceRunner(service: "training", defaultPort: 8000).run(options: options) { router, backend in
            FitRoutes.add(to: &router, backend: backend)
            ModelRoutes.add(to: &router, backend: backend)
            // The seed README sends predicts to the training port; they work there too.
            PredictRoutes.add(to: &router, backend: backend)
        }
    }
}
