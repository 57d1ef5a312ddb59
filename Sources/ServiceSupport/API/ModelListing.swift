import AnomalyDetection

/// One model version as the listing endpoints show it.
struct ModelVersionBody: Encodable {
    var version: String
    var mean: Double
    var std: Double
    var threshold: Double
    var direction: Direction
    var points_used: Int
    var trained_at: String
    var lower_bound: Double
    var upper_bound: Double

    init(_ stored: StoredModel) {
        version = stored.modelVersion.description
        mean = stored.model.mean
        std = stored.model.std
        threshold = stored.model.threshold
        direction = stored.model.direction
        points_used = stored.model.pointsUsed
        trained_at = stored.trainedAt
        lower_bound = stored.model.lowerBound
        upper_bound = stored.model.upperBound
    }
}

/// `GET /models`.
struct ModelListBody: Encodable {
    struct Series: Encodable {
        var series_id: String
        var latest_version: String
        var created_at: String
        var latest: ModelVersionBody
    }

    var series: [Series]
    var total: Int
    var limit: Int
    var offset: Int
}

/// `GET /models/{series_id}`.
struct ModelDetailBody: Encodable {
    var series_id: String
    var latest_version: String
    var versions: [ModelVersionBody]
}
