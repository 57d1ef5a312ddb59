import Foundation
import Histogram

/// The end-of-run summary, printed as text or (with `--json`) as one JSON object with snake_case keys.
struct LoadReport: Encodable {
    /// Latencies in milliseconds, at microsecond resolution, from an HDR histogram.
    struct Latency: Encodable {
        var avg: Double
        var p50: Double
        var p90: Double
        var p95: Double
        var p99: Double
        var max: Double
        /// How many responses the figures are over.
        var samples: Int
    }

    /// Everything that went wrong.
    struct Errors: Encodable {
        /// Error statuses plus socket errors plus timeouts.
        var total: Int
        /// Responses with a status of 400 or more, by status.
        var status: [String: Int]
        /// Requests that failed below HTTP (connect, write, read, closed, malformed), timeouts excluded.
        var socket: Int
        /// `socket` broken down by kind.
        var socketByKind: [String: Int]
        /// Requests without a complete response within `--timeout`.
        var timeouts: Int
    }

    /// The share of predict responses that flagged an anomaly.
    struct Anomalies: Encodable {
        /// Predict responses with a 2xx status.
        var predictions: Int
        /// Of those, the ones with `"anomaly": true`.
        var anomalies: Int
        /// `anomalies / predictions` (0 when there were none).
        var rate: Double
        /// The share of predicts sent far outside the band.
        var expectedRate: Double
    }

    var mode: String
    var series: String
    /// Full URL of the predict target, when predicts were sent.
    var predictUrl: String?
    /// Full URL of the fit target, when fits were sent during the load.
    var fitUrl: String?
    var connections: Int
    var threads: Int
    /// The `--rate` asked for; absent at full speed.
    var targetRate: Double?
    /// Finished requests: responses of any status plus failed requests.
    var requests: Int
    /// Requests with a complete response.
    var responses: Int
    /// Responses with a 2xx status.
    var successful: Int
    /// Finished predict requests.
    var predicts: Int
    /// Finished fit requests.
    var fits: Int
    var durationSeconds: Double
    /// `requests / durationSeconds`.
    var requestsPerSecond: Double
    var latencyMs: Latency
    /// Every response by status.
    var statusCounts: [String: Int]
    var errors: Errors
    var anomaly: Anomalies
    /// Requests resent once after a keep-alive connection closed under them.
    var retries: Int

    /// - Parameters:
    ///   - configuration: the run's settings.
    ///   - statistics: every driver's figures, merged.
    ///   - seconds: the run's wall time.
    ///   - expectedAnomalyRate: the share of predicts sent far outside the band.
    init(configuration: LoadTestConfiguration, statistics: WorkerStatistics, seconds: Double, expectedAnomalyRate: Double) {
        let targets = configuration.targets
        mode = configuration.load.mode.rawValue
        series = configuration.workload.series
        predictUrl = configuration.sendsPredicts ? targets.inference.url(targets.predictPath) : nil
        fitUrl = configuration.load.fitRatio > 0 ? targets.training.url(targets.fitPath) : nil
        connections = configuration.load.connections
        threads = max(1, min(configuration.load.threads, configuration.load.connections))
        targetRate = configuration.load.rate
        requests = statistics.requests
        responses = statistics.responses
        successful = statistics.statusCounts[200..<300].reduce(0, +)
        predicts = statistics.finishedByKind[RequestKind.predict.rawValue]
        fits = statistics.finishedByKind[RequestKind.fit.rawValue]
        durationSeconds = Self.rounded(seconds, digits: 3)
        requestsPerSecond = Self.rounded(seconds > 0 ? Double(requests) / seconds : 0, digits: 1)

        let histogram = statistics.latency
        let milliseconds: (UInt64) -> Double = { Self.rounded(Double($0) / 1000, digits: 3) }
        latencyMs = Latency(
            avg: Self.rounded(histogram.mean / 1000, digits: 3),
            p50: milliseconds(histogram.valueAtPercentile(50)),
            p90: milliseconds(histogram.valueAtPercentile(90)),
            p95: milliseconds(histogram.valueAtPercentile(95)),
            p99: milliseconds(histogram.valueAtPercentile(99)),
            max: milliseconds(histogram.totalCount > 0 ? histogram.max : 0),
            samples: Int(histogram.totalCount)
        )

        var statusCounts: [String: Int] = [:]
        var statusErrors: [String: Int] = [:]
        for (status, count) in statistics.statusCounts.enumerated() where count > 0 {
            statusCounts[String(status)] = count
            if status >= 400 { statusErrors[String(status)] = count }
        }
        self.statusCounts = statusCounts
        var socketByKind: [String: Int] = [:]
        for failure in RequestFailure.allCases where failure != .timeout && statistics.failures[failure.rawValue] > 0 {
            socketByKind[failure.label] = statistics.failures[failure.rawValue]
        }
        let socket = socketByKind.values.reduce(0, +)
        let timeouts = statistics.failures[RequestFailure.timeout.rawValue]
        errors = Errors(
            total: statusErrors.values.reduce(0, +) + socket + timeouts,
            status: statusErrors, socket: socket, socketByKind: socketByKind, timeouts: timeouts
        )
        anomaly = Anomalies(
            predictions: statistics.predictions,
            anomalies: statistics.anomalies,
            rate: statistics.predictions > 0 ? Self.rounded(Double(statistics.anomalies) / Double(statistics.predictions), digits: 5) : 0,
            expectedRate: Self.rounded(expectedAnomalyRate, digits: 5)
        )
        retries = statistics.retries
    }

    /// One JSON object on one line.
    func json() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a number, string or dictionary of those: encoding cannot fail.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The human-readable summary.
    func text() -> String {
        var lines: [String] = []
        let pace = targetRate.map { "target \(Formatting.fixed($0, digits: 1)) req/s" } ?? "max rate"
        lines.append("anomaly-loadtest: \(mode), series '\(series)', \(connections) connections on \(threads) thread(s), \(pace)")
        if let predictUrl { lines.append("  predict       POST \(predictUrl)") }
        if let fitUrl { lines.append("  fit           POST \(fitUrl)") }
        lines.append("  requests      \(requests) in \(Formatting.fixed(durationSeconds, digits: 2)) s = \(Formatting.fixed(requestsPerSecond, digits: 1)) req/s (\(predicts) predict, \(fits) fit)")
        let latency = latencyMs
        lines.append("  latency (ms)  avg \(Formatting.fixed(latency.avg, digits: 3))  p50 \(Formatting.fixed(latency.p50, digits: 3))  p90 \(Formatting.fixed(latency.p90, digits: 3))  p95 \(Formatting.fixed(latency.p95, digits: 3))  p99 \(Formatting.fixed(latency.p99, digits: 3))  max \(Formatting.fixed(latency.max, digits: 3))")
        lines.append("  statuses      \(Self.list(statusCounts))")
        let socketText = errors.socketByKind.isEmpty ? "none" : Self.list(errors.socketByKind)
        let statusText = errors.status.isEmpty ? "none" : Self.list(errors.status)
        lines.append("  errors        \(errors.total) (status: \(statusText); socket: \(socketText); timeouts: \(errors.timeouts))")
        if predictUrl != nil {
            lines.append("  anomalies     \(anomaly.anomalies) of \(anomaly.predictions) predictions = \(Formatting.percent(anomaly.rate)) (sent \(Formatting.percent(anomaly.expectedRate)) far out)")
        }
        if retries > 0 { lines.append("  retries       \(retries) (keep-alive connections closed by the server, resent once)") }
        return lines.joined(separator: "\n")
    }

    private static func list(_ counts: [String: Int]) -> String {
        counts.isEmpty ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }

    private static func rounded(_ value: Double, digits: Int) -> Double {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return (value * scale).rounded() / scale
    }
}
