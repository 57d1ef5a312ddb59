import AnomalyDetection
import Foundation
import HTTPServer

/// Routes every service answers whatever it does: liveness, readiness, health and metrics.
public enum OperationalRoutes {
    /// The version every service reports.
    public static let serviceVersion = "0.2.0"

    /// A dependency's state as health reports it.
    struct DependencyHealth: Encodable {
        var state: String
        var rtt_ms: Double?
        var error: String?
        /// Redis only: whether the model-update subscription is up (so latest versions are served from memory).
        var subscribed: Bool?
    }

    /// Another service or a dependency as the monitoring service sees it.
    public struct ComponentHealth: Codable, Sendable, Equatable {
        public var state: String
        public var rtt_ms: Double?
        public var error: String?

        public init(state: String, rtt_ms: Double? = nil, error: String? = nil) {
            self.state = state
            self.rtt_ms = rtt_ms
            self.error = error
        }
    }

    /// The other services' and dependencies' states, by name.
    public typealias ServicesHealth = @Sendable () -> [String: ComponentHealth]

    struct PredictionLogHealth: Encodable {
        var pending: Int
        var written: Int
        var dropped: Int
        var retention_hours: Int
        var pruned_batches: Int
    }

    struct Health: Encodable {
        var status: String
        var service: String
        var version: String
        var environment: String
        var uptime_s: Double
        var series_trained: Int?
        var inference_latency_ms: LatencyStatistics.Summary
        var training_latency_ms: LatencyStatistics.Summary
        var latency_window: String
        var postgres: DependencyHealth
        var redis: DependencyHealth
        var prediction_log: PredictionLogHealth
        var unpublished_fits: Int
        var cached_models: Int
        /// The monitoring service only: every service and dependency of the system.
        var services: [String: ComponentHealth]?
    }

    struct Readiness: Encodable {
        var status: String
        var postgres: DependencyHealth
        var redis: DependencyHealth
    }

    /// Adds `/livez` (inline, no I/O), `/readyz`, `/healthcheck` and `/metrics`.
    public static func add(to router: inout Router, service: String, backend: AnomalyBackend, services: ServicesHealth? = nil) {
        let alive = Array(#"{"status":"ok"}"#.utf8)
        router.get("/livez", execution: .inline) { _ in .rawJSON(alive) }

        router.get("/readyz") { _ in
            let postgres = checkPostgres(backend)
            let redis = checkRedis(backend)
            let ready = postgres.state == "up" && redis.state == "up" && backend.isMigrated
            var response = try HTTPResponse.json(Readiness(status: ready ? "ready" : "not_ready", postgres: postgres, redis: redis), status: ready ? .ok : .serviceUnavailable)
            if !ready { response.headers.add(name: "Retry-After", value: "1") }
            return response
        }

        router.get("/healthcheck") { _ in
            let postgres = checkPostgres(backend)
            let redis = checkRedis(backend)
            let seriesTrained = backend.seriesTrained(askingPostgres: postgres.state == "up")
            let inference: LatencyStatistics.Summary
            let training: LatencyStatistics.Summary
            if redis.state == "up",
               let shared = try? (backend.latency.systemWideSummary(.inference, redis: backend.redis), backend.latency.systemWideSummary(.training, redis: backend.redis)) {
                (inference, training) = shared
            } else {
                (inference, training) = (backend.latency.localSummary(.inference), backend.latency.localSummary(.training))
            }
            let log = backend.recorder.counts
            let subscribed = backend.tracker.isSubscribed
            let unpublished = backend.unpublishedCount
            let status = overallStatus(postgres: postgres, redis: redis, subscribed: subscribed, unpublishedFits: unpublished)
            let seconds = (ContinuousClock.now - backend.startedAt).inSeconds
            return try .json(Health(
                status: status, service: service, version: serviceVersion, environment: backend.configuration.environment,
                uptime_s: (seconds * 1000).rounded() / 1000,
                series_trained: seriesTrained,
                inference_latency_ms: inference, training_latency_ms: training,
                latency_window: redis.state == "up" ? "since the start of each running service process, all services merged" : "this process only, since its start (Redis unavailable)",
                postgres: postgres,
                redis: DependencyHealth(state: redis.state, rtt_ms: redis.rtt_ms, error: redis.error, subscribed: subscribed),
                prediction_log: PredictionLogHealth(
                    pending: log.pending, written: log.written, dropped: log.dropped,
                    retention_hours: backend.configuration.predictionRetentionHours, pruned_batches: backend.retention?.prunedBatches ?? 0
                ),
                unpublished_fits: unpublished,
                cached_models: backend.resolver.cachedCount,
                services: services?()
            ))
        }

        router.get("/metrics", execution: .inline) { _ in
            let log = backend.recorder.counts
            backend.metrics.predictionRecordsDropped.record(log.dropped)
            backend.metrics.predictionRecordsWritten.record(log.written)
            backend.metrics.predictionRecordsPending.record(log.pending)
            backend.metrics.predictionBatchesPruned.record(backend.retention?.prunedBatches ?? 0)
            backend.metrics.unpublishedFits.record(backend.unpublishedCount)
            backend.metrics.cachedModels.record(backend.resolver.cachedCount)
            return HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"], body: backend.metrics.exposition())
        }
    }

    /// `ok` with both stores up, the subscription up and every fit in Redis (one that Redis has not taken yet
    /// leaves the cache behind Postgres); `down` with both stores down; `degraded` otherwise.
    static func overallStatus(postgres: DependencyHealth, redis: DependencyHealth, subscribed: Bool, unpublishedFits: Int) -> String {
        if postgres.state == "down" && redis.state == "down" { return "down" }
        let healthy = postgres.state == "up" && redis.state == "up" && subscribed && unpublishedFits == 0
        return healthy ? "ok" : "degraded"
    }

    private static func timed(_ body: () throws -> Void) -> DependencyHealth {
        let started = MonotonicClock.nanoseconds
        do {
            try body()
            let milliseconds = Double(MonotonicClock.nanoseconds - started) / 1e6
            return DependencyHealth(state: "up", rtt_ms: (milliseconds * 1000).rounded() / 1000)
        } catch {
            return DependencyHealth(state: "down", error: "\(error)")
        }
    }

    static func checkPostgres(_ backend: AnomalyBackend) -> DependencyHealth {
        timed { try backend.store.ping() }
    }

    static func checkRedis(_ backend: AnomalyBackend) -> DependencyHealth {
        timed {
            backend.redis.resetBackoff()
            try backend.redis.command(["PING"])
        }
    }
}
