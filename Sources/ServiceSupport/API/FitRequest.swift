import AnomalyDetection

/// The body of `POST /fit/{series_id}`.
struct FitRequest: Decodable {
    var timestamps: [Int64]
    var values: [Double]
    var threshold: Double?
    var direction: Direction?

    private enum CodingKeys: String, CodingKey {
        case timestamps, values, threshold, direction
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timestamps = try container.decodeArray(of: Int64.self, forKey: .timestamps, expected: "an integer unix timestamp") { try $0.decode(Int64.self) }
        values = try container.decodeArray(of: Double.self, forKey: .values, expected: "a finite number") { try $0.decode(Double.self) }
        threshold = try container.decodeFiniteNumberIfPresent(forKey: .threshold)
        direction = try container.decodeIfPresent(Direction.self, forKey: .direction)
    }
}

/// An array position in a coding path, so that errors name `values[2]`.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }

    init(_ index: Int) {
        intValue = index
    }

    init?(stringValue: String) {
        return nil
    }

    init?(intValue: Int) {
        self.intValue = intValue
    }
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
