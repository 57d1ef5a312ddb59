import ArgumentParser
import CSystemShims

extension LoadMode: ExpressibleByArgument {}

/// The command line as typed; `configuration()` turns it into a checked `LoadTestConfiguration`.
struct LoadTestOptions: ParsableArguments {
    @Option(name: .customLong("training-url"), help: "Base URL of the training service (POST /fit).")
    var trainingURL = "http://127.0.0.1:8000"

    @Option(name: .customLong("inference-url"), help: "Base URL of the inference service (POST /predict).")
    var inferenceURL = "http://127.0.0.1:8001"

    @Option(help: "Series id to train and predict.")
    var series = "loadtest"

    @Option(help: "What to drive: predict (POST /predict, optionally mixed with fits) or fit (only POST /fit).")
    var mode: LoadMode = .predict

    @Option(name: .customLong("fit-ratio"), help: "In predict mode, the share of requests that are fits, 0...1.")
    var fitRatio: Double = 0

    @Option(help: "Keep-alive connections in total.")
    var connections = 64

    @Option(help: "Driver threads, each with its own epoll loop (default: 1, or 2 with 4 or more CPUs).")
    var threads: Int?

    @Option(help: "Seconds to run (default: 10 when --requests is not given).")
    var duration: Double?

    @Option(help: "Stop after this many requests (with --duration, whichever comes first).")
    var requests: Int?

    @Option(help: "Target requests per second in total, spread over the connections (default: as fast as possible).")
    var rate: Double?

    @Option(help: "Seconds a request may take before it counts as a timeout.")
    var timeout: Double = 5

    @Flag(name: .customLong("no-train"), help: "Skip the initial fit (the series must already have a model).")
    var noTrain = false

    @Option(help: "Train on this CSV file (header: timestamp,value) instead of a generated series.")
    var csv: String?

    @Option(help: "Points in the generated training series, a noisy sine around 50 (default: 1000).")
    var points: Int?

    @Option(name: .customLong("anomaly-fraction"), help: "Share of predicts sent 5 to 8 standard deviations from the mean.")
    var anomalyFraction: Double = 0.02

    @Option(help: "Seed for the generated series and the predict values.")
    var seed: UInt64 = 1

    @Option(name: .customLong("predict-path"), help: "Predict path on the inference URL; {series} is replaced by the series id.")
    var predictPath = "/predict/{series}"

    @Option(name: .customLong("fit-path"), help: "Fit path on the training URL; {series} is replaced by the series id.")
    var fitPath = "/fit/{series}"

    @Option(help: "Bearer token for services that require one (default: API_TOKEN from the environment).")
    var token: String?

    @Flag(help: "Print the summary as one JSON object on stdout.")
    var json = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    init() {}

    func validate() throws {
        guard (1...1_000_000).contains(connections) else { throw ValidationError("--connections must be between 1 and 1000000") }
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be between 1 and 1024") }
        if let duration, !(duration > 0 && duration.isFinite) { throw ValidationError("--duration must be a positive number of seconds") }
        if let requests, requests < 1 { throw ValidationError("--requests must be at least 1") }
        if let rate, !(rate > 0 && rate.isFinite) { throw ValidationError("--rate must be a positive number of requests per second") }
        guard timeout > 0 && timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
        guard (0...1).contains(fitRatio) else { throw ValidationError("--fit-ratio must lie between 0 and 1") }
        if mode == .fit && fitRatio > 0 { throw ValidationError("--fit-ratio applies to --mode predict; --mode fit sends only fits") }
        if let points, !(3...10_000_000).contains(points) { throw ValidationError("--points must be between 3 and 10000000") }
        if csv != nil && points != nil { throw ValidationError("--csv and --points exclude each other") }
        guard (0...1).contains(anomalyFraction) else { throw ValidationError("--anomaly-fraction must lie between 0 and 1") }
        guard !series.isEmpty else { throw ValidationError("--series must not be empty") }
        guard predictPath.hasPrefix("/") else { throw ValidationError("--predict-path must start with /") }
        guard fitPath.hasPrefix("/") else { throw ValidationError("--fit-path must start with /") }
        if mode == .predict && fitRatio > 0 && fitRatio < 1 && connections < 2 {
            throw ValidationError("mixing fits and predicts needs at least 2 connections")
        }
    }

    /// The checked configuration.
    /// - Throws: `LoadTestError` when a URL does not parse.
    func configuration() throws -> LoadTestConfiguration {
        let training = try ServiceEndpoint(parsing: trainingURL, option: "--training-url")
        let inference = try ServiceEndpoint(parsing: inferenceURL, option: "--inference-url")
        let effectiveRatio = mode == .fit ? 1 : fitRatio
        var threadCount = min(threads ?? (c_shims_available_cpus() >= 4 ? 2 : 1), connections)
        if effectiveRatio > 0 && effectiveRatio < 1 {
            // Every thread needs a connection of each kind.
            threadCount = max(1, min(threadCount, connections / 2))
        }
        return LoadTestConfiguration(
            targets: .init(
                training: training,
                inference: inference,
                predictPath: RequestCatalog.expand(predictPath, series: series),
                fitPath: RequestCatalog.expand(fitPath, series: series)
            ),
            load: .init(
                mode: mode,
                connections: connections,
                threads: threadCount,
                duration: duration ?? (requests == nil ? 10 : nil),
                requests: requests,
                rate: rate,
                timeout: timeout,
                fitRatio: effectiveRatio
            ),
            workload: .init(
                series: series,
                csvPath: csv,
                points: points ?? 1000,
                anomalyFraction: anomalyFraction,
                seed: seed,
                trainFirst: mode == .predict && !noTrain
            ),
            output: .init(json: json, progress: !quiet)
        )
    }
}
