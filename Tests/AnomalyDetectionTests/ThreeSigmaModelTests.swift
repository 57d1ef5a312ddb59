import Foundation
import Testing
@testable import AnomalyDetection

@Suite("3-sigma model")
struct ThreeSigmaModelTests {
    private func series(_ values: [Double]) throws -> TrainingSeries {
        try TrainingSeries(timestamps: (0..<values.count).map { Int64($0) * 60 }, values: values, minimumPoints: 3)
    }

    @Test func populationMeanAndStandardDeviation() throws {
        // Hand-derived: mean 40/8 = 5, squared deviations 9+1+1+1+0+0+4+16 = 32, 32/8 = 4, σ = 2.
        let model = try ThreeSigmaModel.fit(series([2, 4, 4, 4, 5, 5, 7, 9]))
        #expect(model.mean == 5)
        #expect(model.std == 2)
        #expect(model.threshold == 3)
        #expect(model.direction == .both)
        #expect(model.pointsUsed == 8)
        #expect(model.lowerBound == -1)
        #expect(model.upperBound == 11)
    }

    @Test func stableForLargeOffsetsWithTinySpread() throws {
        // 1e9 + {0, 1e-3, 2e-3, ...}: naive sum-of-squares loses every digit of the variance here.
        // The reference fits the same stored values shifted back to 0 (x − 1e9 is exact for them), where
        // nothing cancels; the std must agree to near machine precision.
        let values = (0..<1000).map { 1e9 + Double($0 % 10) * 1e-3 }
        let model = try ThreeSigmaModel.fit(series(values))
        let reference = try ThreeSigmaModel.fit(series(values.map { $0 - 1e9 }))
        #expect(abs(model.std - reference.std) / reference.std < 1e-9, "std \(model.std) vs \(reference.std)")
        #expect(abs(model.mean - (1e9 + reference.mean)) < 1e-6)
        // Textbook E[x²] − E[x]² on the same data is far off, which is what this test guards against.
        let naive = (values.map { $0 * $0 }.reduce(0, +) / 1000 - pow(values.reduce(0, +) / 1000, 2))
        #expect(abs(naive.squareRoot() - reference.std) / reference.std > 0.01 || naive < 0)
    }

    @Test func boundsAreStrict() throws {
        // mean 1, σ 1: with k = 1 the bounds are exactly 0 and 2.
        let model = try ThreeSigmaModel.fit(series([0, 2, 0, 2]), threshold: 1)
        #expect(model.predict(2).anomaly == false)
        #expect(model.predict(0).anomaly == false)
        #expect(model.predict(2.000001).anomaly == true)
        #expect(model.predict(-0.000001).anomaly == true)
        #expect(model.predict(2).zScore == 1)
    }

    @Test func directionsLookAtOneSideOnly() throws {
        let values: [Double] = [0, 2, 0, 2]
        let upper = try ThreeSigmaModel.fit(series(values), threshold: 1, direction: .upper)
        let lower = try ThreeSigmaModel.fit(series(values), threshold: 1, direction: .lower)
        #expect(upper.predict(5).anomaly && !upper.predict(-5).anomaly)
        #expect(lower.predict(-5).anomaly && !lower.predict(5).anomaly)
    }

    @Test func batchKeepsInputOrder() throws {
        let model = try ThreeSigmaModel.fit(series([2, 4, 4, 4, 5, 5, 7, 9]))
        let predictions = model.predict([5, 12, -2, 11])
        #expect(predictions.map(\.anomaly) == [false, true, true, false])
        #expect(predictions.map(\.zScore) == [0, 3.5, -3.5, 3])
    }

    /// JSON has no infinity: a finite value whose score overflows saturates, and the verdict stands.
    @Test func overflowingScoresSaturate() throws {
        let model = try ThreeSigmaModel.fit(series([-1, 1, 0]))
        let high = model.predict(Double.greatestFiniteMagnitude), low = model.predict(-Double.greatestFiniteMagnitude)
        let tiny = try ThreeSigmaModel.fit(series([0, 1e-150, 2e-150]))
        let far = tiny.predict(1e300)
        #expect(far.zScore == .greatestFiniteMagnitude && far.anomaly)
        #expect(tiny.predict(-1e300).zScore == -.greatestFiniteMagnitude)
        #expect(high.zScore.isFinite && low.zScore.isFinite && high.anomaly && low.anomaly)
    }

    @Test func constantSeriesAndBadThresholdsAreRejected() throws {
        #expect(throws: ValidationError(field: "values", message: "the series is constant (std = 0), so no point could be told apart from it")) {
            try ThreeSigmaModel.fit(series([0.1, 0.1, 0.1]))
        }
        for threshold in [0, -1, Double.nan, .infinity] {
            #expect(throws: ValidationError.self) { try ThreeSigmaModel.fit(series([1, 2, 3]), threshold: threshold) }
        }
    }
}

@Suite("Preflight validation")
struct TrainingSeriesTests {
    private func field(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as ValidationError {
            return error.field
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func everyRejectionNamesItsFieldAndIndex() {
        #expect(field { _ = try TrainingSeries(timestamps: [1, 2], values: [1, 2], minimumPoints: 3) } == "values")
        #expect(field { _ = try TrainingSeries(timestamps: [1, 2, 3], values: [1, 2], minimumPoints: 2) } == "values")
        #expect(field { _ = try TrainingSeries(timestamps: [1, 2, 3], values: [1, .nan, 3], minimumPoints: 3) } == "values[1]")
        #expect(field { _ = try TrainingSeries(timestamps: [1, 2, 3], values: [1, 2, .infinity], minimumPoints: 3) } == "values[2]")
        #expect(field { _ = try TrainingSeries(timestamps: [1, 3, 2], values: [1, 2, 3], minimumPoints: 3) } == "timestamps[2]")
        #expect(field { _ = try TrainingSeries(timestamps: [1, 1, 2], values: [1, 2, 3], minimumPoints: 3) } == "timestamps[1]")
        #expect(field { _ = try TrainingSeries(timestamps: [1, 2, 3], values: [1, 2, 3], minimumPoints: 3) } == nil)
    }

    @Test func seriesIdentifiers() {
        #expect(field { _ = try SeriesID("sensor_1.temp-A") } == nil)
        #expect(field { _ = try SeriesID(String(repeating: "a", count: 128)) } == nil)
        for bad in ["", String(repeating: "a", count: 129), "a b", "a/b", "../x", "é", "x'; DROP TABLE series; --", "<script>"] {
            #expect(field { _ = try SeriesID(bad) } == "series_id", "\(bad)")
        }
    }

    @Test func versionsParseBothSpellings() throws {
        #expect(try ModelVersion(parsing: "v3").number == 3)
        #expect(try ModelVersion(parsing: "3").number == 3)
        #expect(ModelVersion(17).description == "v17")
        for bad in ["", "v", "0", "v0", "-1", "v-1", "abc", "3.0", "v3x", "99999999999", "03", "v007"] {
            #expect(throws: ValidationError.self, "\(bad)") { try ModelVersion(parsing: Substring(bad)) }
        }
    }
}
