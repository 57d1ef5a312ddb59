import HTTPServer
import Logging

/// Reads the environment once, at start-up, into typed values; a bad value is a `ConfigurationError`.
public struct ServiceEnvironment: Sendable {
    private let variables: [String: String]

    public init(_ variables: [String: String]) {
        self.variables = variables
    }

    /// The raw value, treating an empty string as unset.
    public subscript(name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    /// An integer within `range`, or `defaultValue` when unset.
    public func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = self[name] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(variable: name, value: text, expected: "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A positive number of seconds (fractions allowed), or `defaultValue` when unset.
    public func seconds(_ name: String, default defaultValue: Duration) throws -> Duration {
        guard let text = self[name] else { return defaultValue }
        guard let value = Double(text), value.isFinite, value > 0, value <= 86_400 else {
            throw ConfigurationError(variable: name, value: text, expected: "a number of seconds greater than 0 and at most 86400")
        }
        return .milliseconds(Int64(value * 1000))
    }

    /// The swift-log level named by `LOG_LEVEL`.
    public func logLevel() throws -> Logger.Level {
        guard let text = self["LOG_LEVEL"] else { return .info }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(variable: "LOG_LEVEL", value: text, expected: "one of \(names)")
        }
        return level
    }

    /// The HTTP server configuration of `service`, from flags, then environment, then defaults.
    /// - Parameters:
    ///   - service: e.g. `training`; its port variable is `TRAINING_PORT`.
    ///   - defaultPort: the port when neither flag nor variable sets one.
    ///   - options: the parsed command-line flags.
    public func serverConfiguration(service: String, defaultPort: Int, options: ServiceOptions) throws -> ServerConfiguration {
        let portVariable = "\(service.uppercased())_PORT"
        var configuration = ServerConfiguration()
        if let port = options.port {
            guard (0...65_535).contains(port) else {
                throw ConfigurationError(variable: "--port", value: "\(port)", expected: "an integer from 0 to 65535")
            }
            configuration.port = port
        } else {
            configuration.port = try integer(portVariable, default: defaultPort, in: 0...65_535)
        }
        configuration.host = options.host ?? self["HOST"] ?? "127.0.0.1"
        if let threads = options.threads {
            guard (1...256).contains(threads) else {
                throw ConfigurationError(variable: "--threads", value: "\(threads)", expected: "an integer from 1 to 256")
            }
            configuration.loopThreads = threads
        } else {
            configuration.loopThreads = try integer("HTTP_THREADS", default: ServerConfiguration.availableCPUs, in: 1...256)
        }
        configuration.blockingThreads = try integer("HTTP_BLOCKING_THREADS", default: configuration.blockingThreads, in: 1...1024)
        configuration.blockingQueueCapacity = try integer("HTTP_BLOCKING_QUEUE", default: configuration.blockingQueueCapacity, in: 1...1_000_000)
        configuration.maxConnections = try integer("HTTP_MAX_CONNECTIONS", default: configuration.maxConnections, in: 1...1_000_000)
        configuration.limits.maxBodyBytes = try integer("HTTP_MAX_BODY_BYTES", default: configuration.limits.maxBodyBytes, in: 0...(1 << 31))
        configuration.limits.maxHeaderSectionBytes = try integer("HTTP_MAX_HEADER_BYTES", default: configuration.limits.maxHeaderSectionBytes, in: 1024...(1 << 20))
        configuration.limits.maxTargetLength = try integer("HTTP_MAX_TARGET_BYTES", default: configuration.limits.maxTargetLength, in: 256...(1 << 20))
        configuration.timeouts.headerRead = try seconds("HTTP_HEADER_TIMEOUT_SECONDS", default: configuration.timeouts.headerRead)
        configuration.timeouts.bodyRead = try seconds("HTTP_BODY_TIMEOUT_SECONDS", default: configuration.timeouts.bodyRead)
        configuration.timeouts.keepAliveIdle = try seconds("HTTP_KEEPALIVE_TIMEOUT_SECONDS", default: configuration.timeouts.keepAliveIdle)
        configuration.timeouts.write = try seconds("HTTP_WRITE_TIMEOUT_SECONDS", default: configuration.timeouts.write)
        configuration.shutdownGracePeriod = try seconds("SHUTDOWN_GRACE_SECONDS", default: configuration.shutdownGracePeriod)
        configuration.serverName = "anomaly-\(service)"
        return configuration
    }
}
