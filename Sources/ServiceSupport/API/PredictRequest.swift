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
        value = try container.decode(Double.self, forKey: .value)
    }
}

/// Unix timestamps as the contract spells them.
enum UnixTimestamp {
    /// Digits only, at most 18 of them (well inside Int64).
    static func parse(_ text: String) -> Int64? {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= 18, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int64(text)
    }
}

/// The answer to a predict.
struct PredictResponse: Encodable {
    var anomaly: Bool
    var model_version: String
    var series_id: String
    var timestamp: Int64
    var value: Double
    var z_score: Double
    var lower_bound: Double
    var upper_bound: Double
    var threshold: Double
    var direction: Direction
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

extension PredictResponse {
    /// The same JSON `JSONCoding.encoder` writes (keys sorted), written directly: this is the body of every
    /// predict, and the generic encoder spends more time on it than the rest of the request does.
    /// The only strings are a validated series id, a version and a direction, none of which need escaping.
    func encodedJSON() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: #"{"anomaly":"#.utf8)
        out.append(contentsOf: (anomaly ? "true" : "false").utf8)
        out.append(contentsOf: #","direction":""#.utf8)
        out.append(contentsOf: direction.rawValue.utf8)
        out.append(contentsOf: #"","lower_bound":"#.utf8)
        Self.append(lower_bound, to: &out)
        out.append(contentsOf: #","model_version":""#.utf8)
        out.append(contentsOf: model_version.utf8)
        out.append(contentsOf: #"","series_id":""#.utf8)
        out.append(contentsOf: series_id.utf8)
        out.append(contentsOf: #"","threshold":"#.utf8)
        Self.append(threshold, to: &out)
        out.append(contentsOf: #","timestamp":"#.utf8)
        out.append(contentsOf: String(timestamp).utf8)
        out.append(contentsOf: #","upper_bound":"#.utf8)
        Self.append(upper_bound, to: &out)
        out.append(contentsOf: #","value":"#.utf8)
        Self.append(value, to: &out)
        out.append(contentsOf: #","z_score":"#.utf8)
        Self.append(z_score, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A JSON number: integral values without a fraction (as JSONEncoder writes them), the shortest
    /// round-tripping text otherwise; beyond Double's range (a z-score can overflow) it is clamped.
    static func append(_ number: Double, to out: inout [UInt8]) {
        let finite = number.isNaN ? 0 : min(max(number, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
        if finite == finite.rounded(), abs(finite) < 1e15 {
            out.append(contentsOf: String(Int64(finite)).utf8)
        } else {
            out.append(contentsOf: finite.description.utf8)
        }
    }
}
