import Testing
@testable import anomaly_loadtest

@Suite("Predict samples")
struct PredictSampleTests {
    static let series = TrainingSeries.generated(points: 1000, startTimestamp: 0, seed: 1)
    static let samples = PredictSample.samples(continuing: series, count: 4096, anomalyFraction: 0.02, seed: 1)

    @Test func anomalousExactlyWhenOutsideThreeSigma() {
        let upper = Self.series.mean + 3 * Self.series.standardDeviation
        let lower = Self.series.mean - 3 * Self.series.standardDeviation
        for sample in Self.samples {
            #expect(sample.isAnomalous == (sample.value > upper || sample.value < lower), "\(sample)")
        }
    }

    @Test func anomalousShareIsTheFloorOfTheFraction() {
        // 4096 × 0.02 = 81.92.
        #expect(Self.samples.filter(\.isAnomalous).count == 81)
    }

    @Test func samplesContinueTheSeriesInTime() throws {
        let last = try #require(Self.series.timestamps.last)
        #expect(Self.samples[0].timestamp == last + 60)
        #expect(Self.samples[1].timestamp == last + 120)
    }

    @Test func jsonBodyCarriesTheTimestampAsAString() throws {
        let sample = Self.samples[0]
        let body = String(decoding: sample.jsonBody, as: UTF8.self)
        let prefix = #"{"timestamp":"\#(sample.timestamp)","value":"#
        #expect(body.hasPrefix(prefix) && body.hasSuffix("}"), "\(body)")
        let value = try #require(Double(body.dropFirst(prefix.count).dropLast()))
        #expect(abs(value - sample.value) <= 0.00005)
    }
}
