/// One driver thread's share of the run.
struct DriverPlan: Sendable, Equatable {
    /// The driver's number, from 0.
    var index: Int
    /// Connections to the inference service.
    var predictConnections: Int
    /// Connections to the training service.
    var fitConnections: Int
    /// Requests this driver starts at most; nil for no limit.
    var requestBudget: Int?
    /// This driver's share of the target rate; nil for as fast as possible.
    var ratePerSecond: Double?
    /// Share of its requests that are fits.
    var fitRatio: Double
    /// Monotonic nanoseconds at which the run started.
    var start: UInt64
    /// Monotonic nanoseconds after which no new request starts; nil for none.
    var deadline: UInt64?
    /// Per-request timeout in nanoseconds.
    var timeout: UInt64

    /// Splits the load evenly over the threads: connections, request budget and rate in proportion
    /// to the connections each thread gets. With a mix of fits and predicts, every thread gets at
    /// least one connection of each kind.
    /// - Parameters:
    ///   - load: the checked load settings (`threads <= connections`).
    ///   - start: monotonic nanoseconds at which the run starts.
    static func split(_ load: LoadTestConfiguration.Load, start: UInt64) -> [DriverPlan] {
        let threads = max(1, min(load.threads, load.connections))
        return (0..<threads).map { index in
            let connections = share(of: load.connections, part: index, parts: threads)
            let fitConnections: Int
            if load.fitRatio <= 0 {
                fitConnections = 0
            } else if load.fitRatio >= 1 {
                fitConnections = connections
            } else {
                fitConnections = min(max(1, Int((Double(connections) * load.fitRatio).rounded())), connections - 1)
            }
            return DriverPlan(
                index: index,
                predictConnections: connections - fitConnections,
                fitConnections: fitConnections,
                requestBudget: load.requests.map { share(of: $0, part: index, parts: threads) },
                ratePerSecond: load.rate.map { $0 * Double(connections) / Double(load.connections) },
                fitRatio: load.fitRatio,
                start: start,
                deadline: load.duration.map { start + UInt64($0 * 1e9) },
                timeout: UInt64(load.timeout * 1e9)
            )
        }
    }

    /// `total` split into `parts` near-equal whole shares; the first ones get the remainder.
    static func share(of total: Int, part: Int, parts: Int) -> Int {
        total / parts + (part < total % parts ? 1 : 0)
    }
}
