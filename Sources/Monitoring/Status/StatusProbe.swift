import AnomalyDetection
import Foundation
import ServiceSupport
import Synchronization

/// The system's state as the dashboard shows it: each service's `/readyz` and each dependency's ping,
/// checked by a thread of its own every `interval`, so that a page never waits on a dead peer and a
/// service that goes down shows red within about a second.
public final class StatusProbe: Sendable {
    public typealias ComponentHealth = OperationalRoutes.ComponentHealth

    /// The latest round of checks.
    public struct Snapshot: Sendable, Codable {
        /// training, inference, monitoring, postgres, redis.
        public var components: [String: ComponentHealth]
        /// Prediction records the inference service had to drop (from its `/healthcheck`), if it answered.
        public var dropped_prediction_records: Int?
        /// Unix seconds of the checks.
        public var checked_at: Double
    }

    public static let componentOrder = ["training", "inference", "monitoring", "postgres", "redis"]

    private let services: [(name: String, url: String)]
    /// Sent to the other services' `/healthcheck`, which `READ_API_TOKEN` may guard (`/readyz` never is).
    private let authorization: String?
    private let pingPostgres: @Sendable () throws -> Void
    private let pingRedis: @Sendable () throws -> Void
    private let latest: Mutex<Snapshot>
    private let stopped = Atomic<Bool>(false)

    /// - Parameter services: name and base URL (`http://host:port`) of each service to ask.
    public init(services: [(name: String, url: String)], authorization: String? = nil, pingPostgres: @escaping @Sendable () throws -> Void, pingRedis: @escaping @Sendable () throws -> Void) {
        self.authorization = authorization
        self.services = services
        self.pingPostgres = pingPostgres
        self.pingRedis = pingRedis
        var unknown: [String: ComponentHealth] = [:]
        for name in Self.componentOrder { unknown[name] = ComponentHealth(state: "unknown") }
        unknown["monitoring"] = ComponentHealth(state: "up", rtt_ms: 0)
        latest = Mutex(Snapshot(components: unknown, dropped_prediction_records: nil, checked_at: Date().timeIntervalSince1970))
    }

    public func start(interval: Double = 1) {
        BackgroundThread.start(name: "status-probe", priority: .normal) { [self] in
            while !stopped.load(ordering: .relaxed) {
                check()
                Thread.sleep(forTimeInterval: interval)
            }
        }
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    public var snapshot: Snapshot {
        latest.withLock { $0 }
    }

    /// One round of checks (the services one after the other: each has its own short deadline).
    public func check() {
        var components: [String: ComponentHealth] = ["monitoring": ComponentHealth(state: "up", rtt_ms: 0)]
        var dropped: Int?
        for service in services {
            components[service.name] = Self.ready(service.url)
            if service.name == "inference", components[service.name]?.state != "down" {
                dropped = Self.droppedRecords(service.url, authorization: authorization)
            }
        }
        components["postgres"] = Self.timed(pingPostgres)
        components["redis"] = Self.timed(pingRedis)
        let snapshot = Snapshot(components: components, dropped_prediction_records: dropped, checked_at: Date().timeIntervalSince1970)
        latest.withLock { $0 = snapshot }
    }

    /// `/readyz`: 200 is up, another answer (503 while a dependency is down) degraded, no answer down.
    static func ready(_ url: String) -> ComponentHealth {
        let started = MonotonicClock.nanoseconds
        do {
            let (host, port) = try HTTPProbe.endpoint(url)
            let response = try HTTPProbe.get(host: host, port: port, path: "/readyz")
            let rtt = milliseconds(since: started)
            return response.status == 200
                ? ComponentHealth(state: "up", rtt_ms: rtt)
                : ComponentHealth(state: "degraded", rtt_ms: rtt, error: "readyz answered \(response.status)")
        } catch {
            return ComponentHealth(state: "down", error: "\(error)")
        }
    }

    private static func droppedRecords(_ url: String, authorization: String?) -> Int? {
        struct Health: Decodable {
            struct Log: Decodable { var dropped: Int }
            var prediction_log: Log?
        }
        guard let (host, port) = try? HTTPProbe.endpoint(url),
              let response = try? HTTPProbe.get(host: host, port: port, path: "/healthcheck", authorization: authorization), response.status == 200 || response.status == 503,
              let health = try? JSONDecoder().decode(Health.self, from: Data(response.body)) else { return nil }
        return health.prediction_log?.dropped
    }

    private static func timed(_ ping: () throws -> Void) -> ComponentHealth {
        let started = MonotonicClock.nanoseconds
        do {
            try ping()
            return ComponentHealth(state: "up", rtt_ms: milliseconds(since: started))
        } catch {
            return ComponentHealth(state: "down", error: "\(error)")
        }
    }

    private static func milliseconds(since started: UInt64) -> Double {
        (Double(MonotonicClock.nanoseconds - started) / 1e3).rounded() / 1000
    }
}
