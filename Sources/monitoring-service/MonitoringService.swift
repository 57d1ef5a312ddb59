import ArgumentParser
import ServiceSupport

@main
struct MonitoringService: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitoring-service",
        abstract: "Shows the dashboard and plots: GET /dashboard, GET /plot."
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        try ServiceRunner(service: "monitoring", defaultPort: 8002).run(options: options)
    }
}
