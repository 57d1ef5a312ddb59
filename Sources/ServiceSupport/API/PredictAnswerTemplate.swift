import AnomalyDetection

/// The body of a predict answer, written directly (the generic encoder cost more than the rest of the
/// request), with what the model version fixes written once. Of its ten keys, sorted as `JSONCoding.encoder`
/// writes them (the tests hold it to the encoder's output), six depend only on the version, and writing their
/// numbers is most of the cost of the body; a request adds the other four between the pieces.
struct PredictAnswerTemplate: Sendable {
    let version: Int
    /// `,"direction":…,"lower_bound":…,"model_version":…,"series_id":…,"threshold":…,"timestamp":`
    private let beforeTimestamp: [UInt8]
    /// `,"upper_bound":…,"value":`
    private let beforeValue: [UInt8]

    /// The only strings are a validated series id, a version and a direction, none of which need escaping.
    init(seriesID: String, version: Int, modelVersion: String, direction: Direction, lowerBound: Double, upperBound: Double, threshold: Double) {
        self.version = version
        var head = JSONBytes(capacity: 128)
        head.append(literal: #","direction":""#)
        head.append(direction.rawValue)
        head.append(literal: #"","lower_bound":"#)
        head.append(number: lowerBound)
        head.append(literal: #","model_version":""#)
        head.append(modelVersion)
        head.append(literal: #"","series_id":""#)
        head.append(seriesID)
        head.append(literal: #"","threshold":"#)
        head.append(number: threshold)
        head.append(literal: #","timestamp":"#)
        beforeTimestamp = head.bytes
        var middle = JSONBytes(capacity: 48)
        middle.append(literal: #","upper_bound":"#)
        middle.append(number: upperBound)
        middle.append(literal: #","value":"#)
        beforeValue = middle.bytes
    }

    init(_ stored: StoredModel) {
        self.init(
            seriesID: stored.seriesID, version: stored.version, modelVersion: stored.modelVersion.description,
            direction: stored.model.direction, lowerBound: stored.model.lowerBound, upperBound: stored.model.upperBound,
            threshold: stored.model.threshold
        )
    }

    /// The whole body for one prediction.
    func body(anomaly: Bool, timestamp: Int64, value: Double, zScore: Double) -> [UInt8] {
        var out = JSONBytes(capacity: 64 + beforeTimestamp.count + beforeValue.count)
        out.append(literal: anomaly ? #"{"anomaly":true"# : #"{"anomaly":false"#)
        out.append(bytes: beforeTimestamp)
        out.append(integer: timestamp)
        out.append(bytes: beforeValue)
        out.append(number: value)
        out.append(literal: #","z_score":"#)
        out.append(number: zScore)
        out.append(literal: "}")
        return out.bytes
    }
}
