import ArgumentParser
import Foundation

/// The `anomaly-loadtest` command: trains a series, then drives `POST /predict` (and optionally
/// `POST /fit`) over keep-alive connections and reports throughput, latency, errors and the anomaly rate.
@main
struct LoadTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anomaly-loadtest",
        abstract: "Drives /predict and /fit with keep-alive connections.",
        discussion: """
            Trains the series (POST /fit on the training service, from a generated noisy sine or \
            --csv), then sends POST /predict/{series} to the inference service over --connections \
            keep-alive connections for --duration seconds or --requests requests, at full speed or \
            at --rate requests/s. Progress goes to stderr once a second; the summary to stdout \
            (as one JSON object with --json).
            """
    )

    @OptionGroup var options: LoadTestOptions

    func run() throws {
        let config = try options.configuration()
        let series = try trainingSeries(config.workload)
        let predictEndpoint = config.targets.inference
        let fitEndpoint = config.targets.training
        let catalog = RequestCatalog(
            series: series,
            predict: (predictEndpoint, config.targets.predictPath),
            fit: (fitEndpoint, config.targets.fitPath),
            anomalyFraction: config.workload.anomalyFraction,
            seed: config.workload.seed,
            token: options.token ?? ProcessInfo.processInfo.environment["API_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        )
        let predictAddress = config.sendsPredicts ? try SocketAddress.resolve(host: predictEndpoint.host, port: predictEndpoint.port) : nil
        let fitAddress = config.sendsFits ? try SocketAddress.resolve(host: fitEndpoint.host, port: fitEndpoint.port) : nil

        if config.workload.trainFirst, let fitAddress {
            let trainer = SeriesTrainer(endpoint: fitEndpoint, path: config.targets.fitPath, timeout: config.load.timeout)
            let account = try trainer.train(request: catalog.fitRequest, address: fitAddress)
            StandardError.write("\(account) (\(series.values.count) points, mean \(Formatting.fixed(series.mean, digits: 2)), std \(Formatting.fixed(series.standardDeviation, digits: 2)))\n")
        }

        StopSignal.install()
        ClientSocket.raiseOpenFileLimit()
        let runner = LoadTestRunner(configuration: config, catalog: catalog, addresses: [predictAddress, fitAddress])
        let (statistics, seconds) = try runner.run()
        let report = LoadReport(configuration: config, statistics: statistics, seconds: seconds, expectedAnomalyRate: catalog.expectedAnomalyRate)
        print(config.output.json ? report.json() : report.text())
    }

    private func trainingSeries(_ workload: LoadTestConfiguration.Workload) throws -> TrainingSeries {
        if let path = workload.csvPath {
            return try TrainingSeries.load(csvPath: path)
        }
        let minute = Int64(Date().timeIntervalSince1970) / 60 * 60
        return TrainingSeries.generated(points: workload.points, startTimestamp: minute - Int64(workload.points) * 60, seed: workload.seed)
    }
}
