import Foundation

/// One predict request's payload, and whether it was drawn far outside the model's band.
struct PredictSample: Sendable, Equatable {
    /// Unix seconds; sent as a string of digits, as in the contract's example.
    var timestamp: Int64
    var value: Double
    /// Drawn 5 to 8 standard deviations from the mean, so a 3-sigma model flags it.
    var isAnomalous: Bool

    /// The request body: `{"timestamp":"1700000000","value":51.2345}`.
    var jsonBody: [UInt8] {
        Array(#"{"timestamp":"\#(timestamp)","value":\#(String(format: "%.4f", value))}"#.utf8)
    }

    /// Samples that continue `series` in time: most within two standard deviations of its mean
    /// (normal for any threshold above 2), a share `anomalyFraction` 5 to 8 standard deviations
    /// away on either side. The anomalous ones are spread evenly, so any stretch of the list has
    /// close to the intended share.
    /// - Parameters:
    ///   - series: the training series whose mean and spread the samples follow.
    ///   - count: how many samples.
    ///   - anomalyFraction: the share of far-out samples, 0...1.
    ///   - seed: the generator's seed.
    static func samples(continuing series: TrainingSeries, count: Int, anomalyFraction: Double, seed: UInt64) -> [PredictSample] {
        var random = SplitMix64(seed: seed ^ 0x5EED_5EED_5EED_5EED)
        let mean = series.mean
        let spread = series.standardDeviation > 0 ? series.standardDeviation : 1
        let step = series.interval
        let start = (series.timestamps.last ?? 1_700_000_000) + step
        return (0..<count).map { index in
            let anomalous = (Double(index + 1) * anomalyFraction).rounded(.down) > (Double(index) * anomalyFraction).rounded(.down)
            let distance = anomalous ? Double.random(in: 5...8, using: &random) : Double.random(in: -2...2, using: &random)
            let sign: Double = anomalous && Bool.random(using: &random) ? -1 : 1
            return PredictSample(timestamp: start + Int64(index) * step, value: mean + sign * distance * spread, isAnomalous: anomalous)
        }
    }
}
