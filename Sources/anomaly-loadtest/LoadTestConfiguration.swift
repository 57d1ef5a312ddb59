/// A checked run configuration, built from the command line by `LoadTestOptions.configuration()`.
struct LoadTestConfiguration: Sendable {
    /// Where requests go.
    struct Targets: Sendable {
        /// The training service: the initial fit and any fit load.
        var training: ServiceEndpoint
        /// The inference service: predict load.
        var inference: ServiceEndpoint
        /// Predict path on `inference`, with the series substituted.
        var predictPath: String
        /// Fit path on `training`, with the series substituted.
        var fitPath: String
    }

    /// How much load, over how many connections.
    struct Load: Sendable {
        /// Predict (optionally mixed with fits) or fits only.
        var mode: LoadMode
        /// Keep-alive connections in total.
        var connections: Int
        /// Driver threads, each with its own epoll loop and share of the connections.
        var threads: Int
        /// Seconds after which no new request starts; nil when only `requests` bounds the run.
        var duration: Double?
        /// Requests after which the run stops; nil when only `duration` bounds it.
        var requests: Int?
        /// Target requests per second in total; nil for as fast as the connections allow.
        var rate: Double?
        /// Seconds a request may take before it counts as a timeout and its connection is dropped.
        var timeout: Double
        /// Share of requests that are fits: 0 for predicts only, 1 in `fit` mode.
        var fitRatio: Double
    }

    /// What the requests carry.
    struct Workload: Sendable {
        /// The series id.
        var series: String
        /// A CSV training series to use instead of the generated one.
        var csvPath: String?
        /// Points in the generated training series.
        var points: Int
        /// Share of predicts drawn far outside the normal band.
        var anomalyFraction: Double
        /// Seed for the generated series and the predict values.
        var seed: UInt64
        /// Whether to fit the series once before the load starts.
        var trainFirst: Bool
    }

    /// What is printed.
    struct Output: Sendable {
        /// The summary as one JSON object on stdout instead of text.
        var json: Bool
        /// The once-a-second progress line on stderr.
        var progress: Bool
    }

    var targets: Targets
    var load: Load
    var workload: Workload
    var output: Output

    /// Whether any request goes to the inference service.
    var sendsPredicts: Bool { load.fitRatio < 1 }
    /// Whether any request goes to the training service.
    var sendsFits: Bool { load.fitRatio > 0 || workload.trainFirst }
}
