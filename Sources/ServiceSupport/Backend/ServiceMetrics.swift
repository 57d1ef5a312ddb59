import CoreMetrics
import Prometheus

/// The counters the services keep, in Prometheus's text format at `/metrics` (swift-metrics API,
/// swift-prometheus registry). Made once at start-up so that the request path only increments.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let predictionsNormal: CoreMetrics.Counter
    public let predictionsAnomalous: CoreMetrics.Counter
    public let fits: CoreMetrics.Counter
    public let fitFailures: CoreMetrics.Counter
    public let lookupsMemory: CoreMetrics.Counter
    public let lookupsRedis: CoreMetrics.Counter
    public let lookupsPostgres: CoreMetrics.Counter
    public let predictionRecordsDropped: CoreMetrics.Gauge
    public let predictionRecordsWritten: CoreMetrics.Gauge
    public let predictionRecordsPending: CoreMetrics.Gauge
    /// Expired batches of the prediction log deleted by this process (`PREDICTION_LOG_RETENTION_HOURS`).
    public let predictionBatchesPruned: CoreMetrics.Gauge
    public let unpublishedFits: CoreMetrics.Gauge
    public let cachedModels: CoreMetrics.Gauge

    /// Bootstraps swift-metrics with a Prometheus registry (once per process).
    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        predictionsNormal = CoreMetrics.Counter(label: "anomaly_predictions_total", dimensions: [("result", "normal")])
        predictionsAnomalous = CoreMetrics.Counter(label: "anomaly_predictions_total", dimensions: [("result", "anomaly")])
        fits = CoreMetrics.Counter(label: "anomaly_fits_total")
        fitFailures = CoreMetrics.Counter(label: "anomaly_fit_failures_total")
        lookupsMemory = CoreMetrics.Counter(label: "anomaly_model_lookups_total", dimensions: [("source", "memory")])
        lookupsRedis = CoreMetrics.Counter(label: "anomaly_model_lookups_total", dimensions: [("source", "redis")])
        lookupsPostgres = CoreMetrics.Counter(label: "anomaly_model_lookups_total", dimensions: [("source", "postgres")])
        predictionRecordsDropped = CoreMetrics.Gauge(label: "anomaly_prediction_records_dropped")
        predictionRecordsWritten = CoreMetrics.Gauge(label: "anomaly_prediction_records_written")
        predictionRecordsPending = CoreMetrics.Gauge(label: "anomaly_prediction_records_pending")
        predictionBatchesPruned = CoreMetrics.Gauge(label: "anomaly_prediction_batches_pruned")
        unpublishedFits = CoreMetrics.Gauge(label: "anomaly_unpublished_fits")
        cachedModels = CoreMetrics.Gauge(label: "anomaly_cached_models")
    }

    /// The Prometheus text exposition.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
