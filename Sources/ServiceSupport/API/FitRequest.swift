import AnomalyDetection

/// The body of `POST /fit/{series_id}`.
struct FitRequest: Decodable {
    var timestamps: [Int64]
    var values: [Double]
    var threshold: Double?
    var direction: Direction?
}

/// The answer to a fit.
struct FitResponse: Encodable {
    var series_id: String
    var version: String
    var points_used: Int
    var mean: Double
    var std: Double
    var threshold: Double
    var direction: Direction
    var trained_at: String

    init(_ stored: StoredModel) {
        series_id = stored.seriesID
        version = stored.modelVersion.description
        points_used = stored.model.pointsUsed
        mean = stored.model.mean
        std = stored.model.std
        threshold = stored.model.threshold
        direction = stored.model.direction
        trained_at = stored.trainedAt
    }
}
