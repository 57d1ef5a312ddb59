import AnomalyDetection

/// What the dashboard reads, as plain values (Codable for the JSON endpoints).
public struct Overview: Sendable, Codable {
    public var series_trained: Int
    public var model_versions: Int
    public var predictions: Int
    public var anomalies: Int
    public var anomaly_rate: Double
    public var predictions_last_minute: Int
    public var anomalies_last_minute: Int
    public var minutes: [MinuteStatistics]
}

/// One minute of requests of one kind.
public struct MinuteStatistics: Sendable, Codable, Equatable {
    /// Unix seconds at the start of the minute.
    public var minute: Int64
    public var kind: String
    public var requests: Int
    public var anomalies: Int
    public var requests_per_second: Double
    public var p95_ms: Double?
}

/// A row of the series table.
public struct SeriesRow: Sendable, Codable, Equatable {
    public var series_id: String
    public var latest_version: Int
    public var points: Int
    public var mean: Double
    public var std: Double
    public var threshold: Double
    public var direction: String
    public var trained_at: String
    public var predictions: Int
    public var anomalies: Int
    public var last_anomaly_at: String?
    public var last_anomaly_timestamp: Int64?
}

/// A page of the series table.
public struct SeriesPage: Sendable, Codable {
    public var series: [SeriesRow]
    public var total: Int
    public var page: Int
    public var page_size: Int
    public var sort: String
    public var order: String
    public var search: String
}

/// How the series table is asked for.
public struct SeriesQuery: Sendable, Equatable {
    /// The sortable columns, each with its SQL expression (never built from input).
    public enum Sort: String, Sendable, CaseIterable {
        case series_id, latest_version, points, trained_at, predictions, anomalies, last_anomaly_at

        var expression: String {
            switch self {
            case .series_id: return "s.series_id"
            case .latest_version: return "s.latest_version"
            case .points: return "m.points_used"
            case .trained_at: return "m.trained_at"
            case .predictions: return "coalesce(st.predictions, 0)"
            case .anomalies: return "coalesce(st.anomalies, 0)"
            case .last_anomaly_at: return "st.last_anomaly_at"
            }
        }
    }

    public var search = ""
    public var sort = Sort.series_id
    public var descending = false
    public var page = 1
    public var pageSize = 50

    public init(search: String = "", sort: Sort = .series_id, descending: Bool = false, page: Int = 1, pageSize: Int = 50) {
        self.search = search
        self.sort = sort
        self.descending = descending
        self.page = page
        self.pageSize = pageSize
    }
}

/// One recorded prediction.
public struct RecordedPrediction: Sendable, Codable, Equatable {
    public var timestamp: Int64
    public var value: Double
    public var anomaly: Bool
    public var z_score: Double
    public var version: Int
    public var recorded_at: String
}

/// One version in a series' history.
public struct VersionRow: Sendable, Codable, Equatable {
    public var version: Int
    public var mean: Double
    public var std: Double
    public var threshold: Double
    public var direction: String
    public var points: Int
    public var trained_at: String

    init(_ stored: StoredModel) {
        version = stored.version
        mean = stored.model.mean
        std = stored.model.std
        threshold = stored.model.threshold
        direction = stored.model.direction.rawValue
        points = stored.model.pointsUsed
        trained_at = stored.trainedAt
    }
}

/// Everything the series page shows except the plot.
public struct SeriesDetail: Sendable, Codable {
    public var summary: SeriesRow
    public var versions: [VersionRow]
    public var recent_predictions: [RecordedPrediction]
}
