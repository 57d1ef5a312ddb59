import Histogram

/// What one driver measured; drivers keep their own and the runner merges them at the end.
struct WorkerStatistics: Sendable {
    /// Latencies above this (one hour, in microseconds) are recorded as this.
    static let highestTrackableMicroseconds: UInt64 = 3_600_000_000

    /// Response latencies in microseconds, from the start of the request (including a connect, if
    /// the connection had to be opened) to its last byte.
    var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableMicroseconds, numberOfSignificantValueDigits: .three)
    /// Responses by status code (index = status, 100...999).
    var statusCounts = [Int](repeating: 0, count: 1000)
    /// Failed requests by `RequestFailure.rawValue`.
    var failures = [Int](repeating: 0, count: RequestFailure.allCases.count)
    /// Finished requests (response or failure) by `RequestKind.rawValue`.
    var finishedByKind = [Int](repeating: 0, count: RequestKind.allCases.count)
    /// Predict responses with a 2xx status: the denominator of the anomaly rate.
    var predictions = 0
    /// Of those, the ones that said `"anomaly": true`.
    var anomalies = 0
    /// Requests resent once on a fresh connection after a keep-alive connection closed under them.
    var retries = 0
    /// Monotonic nanoseconds at which the driver finished.
    var finishedAt: UInt64 = 0

    /// Requests that finished, with a response or a failure.
    var requests: Int { finishedByKind.reduce(0, +) }
    /// Requests that got a complete response, whatever its status.
    var responses: Int { statusCounts.reduce(0, +) }

    mutating func recordResponse(status: Int, kind: RequestKind, latencyNanoseconds: UInt64, anomaly: Bool) {
        latency.record(min(latencyNanoseconds / 1000, Self.highestTrackableMicroseconds))
        statusCounts[min(max(status, 0), statusCounts.count - 1)] += 1
        finishedByKind[kind.rawValue] += 1
        if kind == .predict && (200..<300).contains(status) {
            predictions += 1
            if anomaly { anomalies += 1 }
        }
    }

    mutating func recordFailure(_ failure: RequestFailure, kind: RequestKind) {
        failures[failure.rawValue] += 1
        finishedByKind[kind.rawValue] += 1
    }

    /// Adds another driver's figures to these.
    mutating func merge(_ other: WorkerStatistics) {
        latency.add(other.latency)
        for index in statusCounts.indices { statusCounts[index] += other.statusCounts[index] }
        for index in failures.indices { failures[index] += other.failures[index] }
        for index in finishedByKind.indices { finishedByKind[index] += other.finishedByKind[index] }
        predictions += other.predictions
        anomalies += other.anomalies
        retries += other.retries
        finishedAt = max(finishedAt, other.finishedAt)
    }
}
