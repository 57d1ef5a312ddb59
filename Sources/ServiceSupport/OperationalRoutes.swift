import Foundation
import HTTPServer

/// Routes every service answers whatever it does: liveness and health.
public enum OperationalRoutes {
    /// Health as the service knows it so far.
    public struct Health: Codable, Sendable, Equatable {
        public var status: String
        public var service: String
        public var version: String
        public var uptime_s: Double
    }

    /// The version every service reports.
    public static let serviceVersion = "0.1.0"

    /// Adds `/livez` (inline, no I/O) and `/healthcheck`.
    public static func add(to router: inout Router, service: String) {
        let startedAt = ContinuousClock.now
        let alive = Array(#"{"status":"ok"}"#.utf8)
        router.get("/livez", execution: .inline) { _ in .rawJSON(alive) }
        router.get("/healthcheck", execution: .inline) { _ in
            let uptime = ContinuousClock.now - startedAt
            let seconds = Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18
            return try .json(Health(status: "ok", service: service, version: serviceVersion, uptime_s: (seconds * 1000).rounded() / 1000))
        }
    }
}
