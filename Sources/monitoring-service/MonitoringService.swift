import ArgumentParser
import HTTPServer
import Monitoring
import ServiceSupport

@main
struct MonitoringService: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitoring-service",
        abstract: "Shows the dashboard and plots: GET /dashboard, GET /plot."
    )

    @OptionGroup var options: ServiceOptions

    func run() throws {
        try ServiceRunner(service: "monitoring", defaultPort: 8002).run(options: options) { router, backend, environment in
            let services = [
                ("training", environment["TRAINING_URL"] ?? "http://127.0.0.1:8000"),
                ("inference", environment["INFERENCE_URL"] ?? "http://127.0.0.1:8001"),
            ]
            for (name, url) in services {
                do {
                    _ = try HTTPProbe.endpoint(url)
                } catch {
                    throw ConfigurationError(variable: name.uppercased() + "_URL", value: url, expected: "an http://host:port URL")
                }
            }
            let store = DashboardStore(connectionString: backend.configuration.databaseURL, logger: backend.logger)
            let probe = StatusProbe(
                services: services,
                authorization: environment["READ_API_TOKEN"].map { "Bearer \($0)" },
                pingPostgres: { try store.ping() },
                pingRedis: { backend.redis.resetBackoff(); try backend.redis.command(["PING"]) }
            )
            probe.start()
            MonitoringRoutes.add(to: &router, backend: backend, store: store, probe: probe)
            return { probe.snapshot.components }
        }
    }
}
