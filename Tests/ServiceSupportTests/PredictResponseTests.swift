import AnomalyDetection
import Foundation
import HTTPServer
import Testing
@testable import ServiceSupport

/// The answer to a predict as a Codable type: what `JSONCoding.encoder` makes of it is the reference the
/// route's hand-written body (`PredictAnswerTemplate`) is held to.
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

extension PredictResponse {
    /// The body the predict route writes for this answer, through the same `PredictAnswerTemplate`.
    func encodedJSON() -> [UInt8] {
        PredictAnswerTemplate(
            seriesID: series_id, version: 0, modelVersion: model_version, direction: direction,
            lowerBound: lower_bound, upperBound: upper_bound, threshold: threshold
        ).body(anomaly: anomaly, timestamp: timestamp, value: value, zScore: z_score)
    }
}

@Suite("Predict response body")
struct PredictResponseTests {
    private func response(value: Double, zScore: Double, lower: Double = -1.5, upper: Double = 11.25) -> PredictResponse {
        PredictResponse(
            anomaly: true, model_version: "v12", series_id: "sensor_1.a-b", timestamp: 1_609_459_500, value: value,
            z_score: zScore, lower_bound: lower, upper_bound: upper, threshold: 3, direction: .upper
        )
    }

    @Test("The direct writer says what the Codable encoder says", arguments: [
        (25.5, 6.940220937885652), (0.1, -0.30000000000000004), (1e21, 1e-7), (-0.0, 123456789.125), (3, 1e300),
        (-42, -7), (-999_999_999_999_999, 0),
    ])
    func sameJSONAsTheEncoder(value: Double, zScore: Double) throws {
        let body = response(value: value, zScore: zScore)
        let direct = try JSONSerialization.jsonObject(with: Data(body.encodedJSON())) as? NSDictionary
        let encoded = try JSONSerialization.jsonObject(with: JSONCoding.encoder.encode(body)) as? NSDictionary
        #expect(direct != nil)
        #expect(direct == encoded)
    }

    @Test func keysAreSortedLikeTheEncoder() throws {
        let direct = String(decoding: response(value: 1, zScore: 2).encodedJSON(), as: UTF8.self)
        let encoded = String(decoding: try JSONCoding.encoder.encode(response(value: 1, zScore: 2)), as: UTF8.self)
        #expect(direct == encoded)
    }

    @Test func overflowingNumbersStayValidJSON() throws {
        let body = response(value: 1.7e308, zScore: .infinity, lower: -.infinity, upper: .nan)
        let parsed = try JSONSerialization.jsonObject(with: Data(body.encodedJSON())) as? [String: Any]
        #expect((parsed?["z_score"] as? Double) == .greatestFiniteMagnitude)
        #expect((parsed?["lower_bound"] as? Double) == -.greatestFiniteMagnitude)
        #expect((parsed?["upper_bound"] as? Double) == 0)
    }
}

@Suite("Predict answer templates")
struct PredictAnswerTemplateTests {
    private func stored(_ seriesID: String, version: Int, mean: Double, std: Double) -> StoredModel {
        StoredModel(seriesID: seriesID, version: version,
                    model: ThreeSigmaModel(mean: mean, std: std, threshold: 2.5, direction: .lower, pointsUsed: 10),
                    trainedAt: "2026-11-22T06:00:00.000Z")
    }

    @Test("A model's template writes what the Codable encoder writes for the same answer")
    func templateMatchesTheEncoder() throws {
        let model = stored("meter-7", version: 3, mean: 10.1, std: 0.7)
        let prediction = model.model.predict(7.3)
        let body = PredictAnswerTemplate(model).body(anomaly: prediction.anomaly, timestamp: 1_700_000_001, value: 7.3, zScore: prediction.zScore)
        let expected = PredictResponse(
            anomaly: prediction.anomaly, model_version: "v3", series_id: "meter-7", timestamp: 1_700_000_001, value: 7.3,
            z_score: prediction.zScore, lower_bound: model.model.lowerBound, upper_bound: model.model.upperBound,
            threshold: 2.5, direction: .lower
        )
        #expect(String(decoding: body, as: UTF8.self) == String(decoding: try JSONCoding.encoder.encode(expected), as: UTF8.self))
    }

    @Test("A new version of a series replaces its template; other series keep theirs")
    func newVersionsReplaceTemplates() throws {
        let templates = PredictAnswerTemplates()
        let first = templates.template(for: stored("a", version: 1, mean: 0, std: 1))
        #expect(templates.template(for: stored("a", version: 1, mean: 0, std: 1)).version == first.version)
        let second = templates.template(for: stored("a", version: 2, mean: 100, std: 1))
        let other = templates.template(for: stored("b", version: 5, mean: 0, std: 1))
        #expect(second.version == 2 && other.version == 5 && templates.count == 2)
        let answer = try JSONSerialization.jsonObject(with: Data(second.body(anomaly: false, timestamp: 1, value: 100, zScore: 0))) as? [String: Any]
        #expect(answer?["model_version"] as? String == "v2")
        #expect(answer?["lower_bound"] as? Double == 97.5)
        #expect(answer?["series_id"] as? String == "a")
    }

    @Test func theCacheIsBounded() {
        let templates = PredictAnswerTemplates()
        for index in 0...PredictAnswerTemplates.capacity {
            _ = templates.template(for: stored("s\(index)", version: 1, mean: 0, std: 1))
        }
        #expect(templates.count <= PredictAnswerTemplates.capacity)
        #expect(templates.count >= 1)
    }
}

@Suite("JSON bytes")
struct JSONBytesTests {
    @Test("Integers as Swift prints them", arguments: [Int64.min, -10, -1, 0, 7, 10, 1_700_000_000, Int64.max])
    func integers(value: Int64) {
        var out = JSONBytes(capacity: 0)
        out.append(integer: value)
        #expect(String(decoding: out.bytes, as: UTF8.self) == String(value))
    }

    @Test("Fractions in the shortest text that reads back the same", arguments: [0.1, -16.234753829797988, 2.5e-8, 1e15 + 0.5, -1.7976931348623157e308])
    func fractions(value: Double) {
        var out = JSONBytes(capacity: 0)
        out.append(number: value)
        let text = String(decoding: out.bytes, as: UTF8.self)
        #expect(text == value.description)
        #expect(Double(text) == value)
    }
}
