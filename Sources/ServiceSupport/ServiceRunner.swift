import Foundation
import HTTPServer
import Logging

/// Starts one service: logging, configuration, routes, server; exits non-zero with a clear message on bad configuration.
public struct ServiceRunner {
    public let service: String
    public let defaultPort: Int

    public init(service: String, defaultPort: Int) {
        self.service = service
        self.defaultPort = defaultPort
    }

    /// Runs until SIGTERM/SIGINT; then shuts down gracefully and returns.
    /// - Parameter addRoutes: adds the service's own routes next to the operational ones.
    public func run(options: ServiceOptions, addRoutes: (inout Router, ServiceEnvironment, Logger) throws -> Void = { _, _, _ in }) throws {
        let environment = ServiceEnvironment(ProcessInfo.processInfo.environment)
        let logger: Logger
        let configuration: ServerConfiguration
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
            OperationalRoutes.add(to: &router, service: service)
            try addRoutes(&router, environment, logger)
        } catch {
            Self.exit(message: "\(service)-service: \(error)")
        }
        let server = Server(configuration: configuration, router: router, logger: logger)
        do {
            try server.run()
        } catch let error as SocketError {
            Self.exit(message: "\(service)-service: cannot listen: \(error)")
        }
    }

    private static func exit(message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(1)
    }
}
