import AnomalyDetection

/// The body of `POST /predict/{series_id}`: `timestamp` is a string of digits in the contract; a JSON
/// integer is accepted too.
struct PredictRequest: Decodable {
    var timestamp: Int64
    var value: Double

    private enum CodingKeys: String, CodingKey {
        case timestamp, value
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // The contract's spelling (a string) first: a failed attempt throws, and throwing is the slow part.
        if let text = try? container.decode(String.self, forKey: .timestamp) {
            guard let number = UnixTimestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: .timestamp, in: container, debugDescription: "must be a unix timestamp in seconds (digits only), got '\(text.prefix(64))'")
            }
            timestamp = number
        } else if let number = try? container.decode(Int64.self, forKey: .timestamp) {
            guard number >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .timestamp, in: container, debugDescription: "must be a unix timestamp in seconds (not negative), got \(number)")
            }
            timestamp = number
        } else if container.contains(.timestamp) {
            throw DecodingError.dataCorruptedError(forKey: .timestamp, in: container, debugDescription: "must be a unix timestamp in seconds, as a string of digits or an integer")
        } else {
            throw DecodingError.keyNotFound(CodingKeys.timestamp, DecodingError.Context(codingPath: [], debugDescription: "missing"))
        }
        value = try container.decodeFiniteNumber(forKey: .value)
    }
}

/// Unix timestamps as the contract spells them.
enum UnixTimestamp {
    /// Digits only, at most 18 of them (well inside Int64).
    static func parse(_ text: String) -> Int64? {
        let bytes = text.utf8
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        // Over the contiguous bytes, as `SeriesID` does: through `String.UTF8View` the check cost several times more.
        guard !bytes.isEmpty, bytes.count <= 18,
              bytes.withContiguousStorageIfAvailable({ $0.allSatisfy(isDigit) }) ?? bytes.allSatisfy(isDigit) else { return nil }
        return Int64(text)
    }
}

/// The body of `POST /predict/{series_id}/batch`.
struct BatchPredictRequest: Decodable {
    var timestamps: [Int64]
    var values: [Double]

    private enum CodingKeys: String, CodingKey {
        case timestamps, values
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timestamps = try container.decodeArray(of: Int64.self, forKey: .timestamps, expected: "an integer unix timestamp") { try $0.decode(Int64.self) }
        values = try container.decodeArray(of: Double.self, forKey: .values, expected: "a finite number") { try $0.decode(Double.self) }
    }
}

/// The answer to a batch predict, in input order.
struct BatchPredictResponse: Encodable {
    var model_version: String
    var series_id: String
    var anomalies: [Bool]
    var z_scores: [Double]
    var anomaly_count: Int
}
