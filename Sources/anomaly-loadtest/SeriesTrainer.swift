import Foundation

/// Fits the series once before the load, so that predicts have a model to use.
struct SeriesTrainer {
    /// The training service.
    let endpoint: ServiceEndpoint
    /// The fit path on it, series substituted.
    let path: String
    /// Seconds the fit may take.
    let timeout: Double

    /// Sends the fit and checks that it succeeded.
    /// - Parameters:
    ///   - request: the encoded fit request (from the catalog).
    ///   - address: the training service's resolved address.
    /// - Returns: a one-line account for stderr, with the version the service reported.
    /// - Throws: `LoadTestError` naming the URL when the service is unreachable or answers other than 2xx.
    func train(request: [UInt8], address: SocketAddress) throws -> String {
        let url = endpoint.url(path)
        let started = MonotonicClock.now()
        let response: HTTPClientResponse
        do {
            response = try BlockingHTTPClient.exchange(request, with: address, timeout: max(timeout, 30))
        } catch let error as LoadTestError {
            throw LoadTestError("training failed: POST \(url): \(error.description) (use --no-train to skip training)")
        }
        let milliseconds = Double(MonotonicClock.now() - started) / 1e6
        let body = String(decoding: response.body.prefix(500), as: UTF8.self)
        guard (200..<300).contains(response.status) else {
            throw LoadTestError("training failed: POST \(url) answered \(response.status): \(body)")
        }
        let fields = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        let version = (fields?["version"] as? String).map { "version \($0)" } ?? "no version in the response"
        return "trained via POST \(url): \(response.status), \(version), \(Formatting.fixed(milliseconds, digits: 1)) ms"
    }
}
