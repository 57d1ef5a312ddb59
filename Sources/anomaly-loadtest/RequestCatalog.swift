/// The encoded requests of a run, built before the clock starts so that the hot path only sends bytes.
struct RequestCatalog: Sendable {
    /// How many distinct predict requests are cycled through.
    static let predictPoolSize = 4096

    /// Predict requests, sent in rotation.
    let predictRequests: [[UInt8]]
    /// The fit request, carrying the whole training series (for the initial fit and for `fit` load).
    let fitRequest: [UInt8]
    /// The share of `predictRequests` drawn far outside the band: the anomaly rate to expect.
    let expectedAnomalyRate: Double

    /// - Parameters:
    ///   - series: the training series; predicts continue it and follow its mean and spread.
    ///   - predict: where predicts go, and the request target on that endpoint.
    ///   - fit: where fits go, and the request target on that endpoint.
    ///   - anomalyFraction: share of predicts far outside the band.
    ///   - seed: seed for the predict values.
    ///   - token: the bearer token every request carries, if any.
    init(series: TrainingSeries, predict: (endpoint: ServiceEndpoint, path: String), fit: (endpoint: ServiceEndpoint, path: String), anomalyFraction: Double, seed: UInt64, token: String? = nil) {
        let samples = PredictSample.samples(continuing: series, count: Self.predictPoolSize, anomalyFraction: anomalyFraction, seed: seed)
        let predictTarget = predict.endpoint.target(predict.path)
        predictRequests = samples.map {
            HTTPRequestEncoder.post(target: predictTarget, authority: predict.endpoint.authority, body: $0.jsonBody, token: token)
        }
        fitRequest = HTTPRequestEncoder.post(target: fit.endpoint.target(fit.path), authority: fit.endpoint.authority, body: series.fitBody(), token: token)
        expectedAnomalyRate = Double(samples.filter(\.isAnomalous).count) / Double(samples.count)
    }

    /// Substitutes `{series}` in a path template with the percent-encoded series id.
    /// - Parameters:
    ///   - template: e.g. `/predict/{series}`.
    ///   - series: the series id.
    static func expand(_ template: String, series: String) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        var encoded = ""
        for byte in series.utf8 {
            if unreserved.contains(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return template.replacing("{series}", with: encoded)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
