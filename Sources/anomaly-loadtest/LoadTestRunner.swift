import Dispatch
import Foundation

/// Runs the drivers on their threads, keeps the progress line going, and merges what they measured.
struct LoadTestRunner {
    let configuration: LoadTestConfiguration
    let catalog: RequestCatalog
    /// Each kind's service address, by `RequestKind.rawValue` (nil when that kind is not sent).
    let addresses: [SocketAddress?]

    /// Runs the load to its end (duration, request count, or Ctrl-C).
    /// - Returns: the merged statistics and the run's wall time in seconds.
    /// - Throws: `LoadTestError` when a driver cannot be set up.
    func run() throws -> (statistics: WorkerStatistics, seconds: Double) {
        let start = MonotonicClock.now()
        let plans = DriverPlan.split(configuration.load, start: start)
        let counters = plans.map { _ in LiveCounters() }
        let drivers = try zip(plans, counters).map { plan, counters in
            try LoadDriver(plan: plan, catalog: catalog, addresses: addresses, counters: counters)
        }
        let results = DriverResults(count: drivers.count)
        for (index, driver) in drivers.enumerated() {
            let thread = Thread { results.store(driver.run(), at: index) }
            thread.name = "load-driver-\(index)"
            thread.start()
        }

        var progress = ProgressLine(enabled: configuration.output.progress, start: start)
        var running = drivers.count
        var nextUpdate = DispatchTime.now().uptimeNanoseconds + 1_000_000_000
        while running > 0 {
            if results.waitForNext(until: DispatchTime(uptimeNanoseconds: nextUpdate)) {
                running -= 1
            }
            if DispatchTime.now().uptimeNanoseconds >= nextUpdate {
                progress.update(counters)
                nextUpdate += 1_000_000_000
            }
        }
        progress.finish()

        let statistics = results.merged()
        let end = max(statistics.finishedAt, start + 1)
        return (statistics, Double(end - start) / 1e9)
    }
}
