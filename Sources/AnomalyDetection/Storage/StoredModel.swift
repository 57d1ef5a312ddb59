/// A model version as stored: the fitted parameters with their series, version and training time.
public struct StoredModel: Sendable, Equatable, Codable {
    public let seriesID: String
    public let version: Int
    public let model: ThreeSigmaModel
    /// RFC 3339, UTC, millisecond precision.
    public let trainedAt: String

    public init(seriesID: String, version: Int, model: ThreeSigmaModel, trainedAt: String) {
        self.seriesID = seriesID
        self.version = version
        self.model = model
        self.trainedAt = trainedAt
    }

    public var modelVersion: ModelVersion { ModelVersion(version) }
}

/// One row of the series listing.
public struct SeriesSummary: Sendable, Equatable {
    public let seriesID: String
    public let latest: StoredModel
    public let createdAt: String
}

/// One prediction as recorded for the dashboard.
public struct PredictionRecord: Sendable, Equatable {
    public let seriesID: String
    public let version: Int
    public let timestamp: Int64
    public let value: Double
    public let anomaly: Bool
    public let zScore: Double
    /// Server-side handling time in microseconds.
    public let latencyMicroseconds: Float

    public init(seriesID: String, version: Int, timestamp: Int64, value: Double, anomaly: Bool, zScore: Double, latencyMicroseconds: Float) {
        self.seriesID = seriesID
        self.version = version
        self.timestamp = timestamp
        self.value = value
        self.anomaly = anomaly
        self.zScore = zScore
        self.latencyMicroseconds = latencyMicroseconds
    }
}
