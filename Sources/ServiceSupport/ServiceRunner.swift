import Foundation
import HTTPServer
import Logging

/// Starts one service: configuration (environment over `.env`), logging, the backend, routes, the server;
/// exits non-zero with a clear message on bad configuration or an unreachable database.
public struct ServiceRunner {
    public let service: String
    public let defaultPort: Int
    /// Whether this service deletes expired predictions (`AnomalyBackend`'s `prunesPredictionLog`).
    public let prunesPredictionLog: Bool

    public init(service: String, defaultPort: Int, prunesPredictionLog: Bool = false) {
        self.service = service
        self.defaultPort = defaultPort
        self.prunesPredictionLog = prunesPredictionLog
    }

    /// Runs an anomaly-detection service until SIGTERM/SIGINT; then shuts down gracefully (answering what is
    /// in flight, writing the prediction log out) and returns.
    /// - Parameter addRoutes: adds the service's own routes next to the operational ones.
    public func run(options: ServiceOptions, addRoutes: @escaping (inout Router, AnomalyBackend) throws -> Void = { _, _ in }) throws {
        try run(options: options) { router, backend, _ in
            try addRoutes(&router, backend)
            return nil
        }
    }

    /// The same, for a service that reports the other services in its health (the monitoring service):
    /// `addRoutes` may return what `/healthcheck` adds under `services`.
    public func run(options: ServiceOptions, addRoutes: @escaping (inout Router, AnomalyBackend, ServiceEnvironment) throws -> OperationalRoutes.ServicesHealth?) throws {
        try serve(options: options) { router, environment, logger in
            // Configuration first: a bad token stops the service before it connects to anything.
            let access = try AccessPolicy.from(environment, service: service)
            let backend = AnomalyBackend(service: service, configuration: try environment.backendConfiguration(), metrics: ServiceMetrics(), logger: logger,
                                         prunesPredictionLog: prunesPredictionLog)
            let services = try addRoutes(&router, backend, environment)
            OperationalRoutes.add(to: &router, service: service, backend: backend, services: services)
            DocumentationRoutes.add(to: &router, environment: environment)
            router.require(access.precondition)
            if access.isEnabled {
                logger.info("tokens required", metadata: ["writes": "\(access.writeToken != nil)", "reads": "\(access.readToken != nil)"])
            }
            return { deadline in backend.shutdown(deadline: deadline) }
        }
    }

    /// Runs a server with only the routes `addRoutes` adds plus `/livez` (no database): the test fixture.
    public func runWithoutBackend(options: ServiceOptions, addRoutes: @escaping (inout Router, ServiceEnvironment, Logger) throws -> Void) throws {
        try serve(options: options) { router, environment, logger in
            let alive = Array(#"{"status":"ok"}"#.utf8)
            router.get("/livez", execution: .inline) { _ in .rawJSON(alive) }
            try addRoutes(&router, environment, logger)
            return nil
        }
    }

    /// Reads configuration, lets `prepare` add routes (returning what to run after the server stopped), serves.
    private func serve(
        options: ServiceOptions,
        prepare: (inout Router, ServiceEnvironment, Logger) throws -> ((ContinuousClock.Instant) -> Void)?
    ) throws {
        let environment = ServiceEnvironment(DotEnvFile.merged(processEnvironment: ProcessInfo.processInfo.environment))
        let logger: Logger
        let configuration: ServerConfiguration
        let afterShutdown: ((ContinuousClock.Instant) -> Void)?
        var router = Router()
        do {
            let level = try environment.logLevel()
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            logger = Logger(label: "\(service)-service")
            configuration = try environment.serverConfiguration(service: service, defaultPort: defaultPort, options: options)
            do {
                try Server.checkAvailable(host: configuration.host, port: configuration.port)
            } catch {
                Self.exit(message: Self.listenFailure(service, configuration, error))
            }
            afterShutdown = try prepare(&router, environment, logger)
        } catch {
            Self.exit(message: "\(service)-service: \(error)")
        }
        let server = Server(configuration: configuration, router: router, logger: logger)
        let signalled: ContinuousClock.Instant
        do {
            signalled = try server.run()
        } catch let error as SocketError {
            Self.exit(message: Self.listenFailure(service, configuration, error))
        }
        // In-flight requests and writing out the prediction log share the grace period, so that the whole
        // shutdown fits in it (plus at most two reply timeouts for calls under way): a container manager's stop
        // timeout set above it is then never reached. The log gets at least `minimumFlushTime` after the last request.
        afterShutdown?(max(signalled + configuration.shutdownGracePeriod, .now + Self.minimumFlushTime))
    }

    /// Why the service cannot listen, naming what sets the address.
    private static func listenFailure(_ service: String, _ configuration: ServerConfiguration, _ error: any Error) -> String {
        "\(service)-service: cannot listen on \(configuration.host):\(configuration.port) (HOST, \(service.uppercased())_PORT or --port): \(error)"
    }

    /// The least time the prediction log and statistics get to be written out once requests are done.
    static let minimumFlushTime: Duration = .seconds(2)

    private static func exit(message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(1)
    }
}
