import Foundation
import Logging
import Synchronization

/// Keeps the prediction log to a window of time. At full load the log grows by about 1.7 MB a second
/// (a 60k predicts/s benchmark), so without this a busy deployment fills its disk; the dashboard reads only
/// the newest batches of a series and the last hour of per-minute statistics, and the per-series totals live in
/// `series_stats`, which is never pruned.
///
/// A thread of its own deletes what is older than the window every `interval`, in chunks of `chunk`
/// batches (short transactions, so that the writers never wait long on it), until a chunk comes back short.
public final class PredictionLogRetention: Sendable {
    public struct Configuration: Sendable {
        /// How long predictions are kept.
        public var hours: Int
        /// How often the thread looks for expired batches.
        public var interval: Duration = .seconds(60)
        /// The most batches (of up to 250 predictions each) deleted per statement.
        public var chunk: Int = 2_000

        public init(hours: Int) {
            self.hours = hours
        }
    }

    private let store: any PredictionLogStore
    private let configuration: Configuration
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)
    private let pruned = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)

    public init(store: any PredictionLogStore, configuration: Configuration, logger: Logger) {
        precondition(configuration.hours > 0 && configuration.chunk > 0, "a window and a chunk of at least one")
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// Batches deleted since start-up.
    public var prunedBatches: Int { pruned.load(ordering: .relaxed) }

    /// Starts the thread; the first pass comes one interval after start-up, not during it.
    public func start() {
        BackgroundThread.start(name: "log-retention") { [self] in
            while !stopped.load(ordering: .relaxed) {
                _ = wake.wait(timeout: .now() + configuration.interval.inSeconds)
                guard !stopped.load(ordering: .relaxed) else { return }
                pruneExpired()
            }
        }
    }

    /// Ends the thread (at once, not after its interval) and any pass in progress after its current chunk.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        wake.signal()
    }

    /// Deletes everything older than the window, chunk by chunk.
    /// - Returns: how many batches were deleted (so far, when Postgres fails midway: the next pass goes on).
    @discardableResult
    public func pruneExpired() -> Int {
        var total = 0
        while !stopped.load(ordering: .relaxed) {
            let deleted: Int
            do {
                deleted = try store.prunePredictionLog(olderThanHours: configuration.hours, limit: configuration.chunk)
            } catch {
                logger.warning("prediction log retention failed; retrying next pass", metadata: ["error": "\(error)"])
                break
            }
            total += deleted
            pruned.add(deleted, ordering: .relaxed)
            if deleted < configuration.chunk { break }
        }
        if total > 0 {
            logger.info("prediction log pruned", metadata: ["batches": "\(total)", "older_than_hours": "\(configuration.hours)"])
        }
        return total
    }
}
