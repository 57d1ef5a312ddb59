import Foundation
import Logging
import Synchronization

/// Adds up request statistics in memory and writes them to the store once a second from a thread of its
/// own, so that no request waits on it. A failed write is sent again as it was, with the same id, before
/// anything newer (which keeps adding up meanwhile): the store applies each id once, so a write whose answer
/// was lost after it committed is not counted twice.
public final class StatisticsWriter: Sendable {
    private let store: any ModelStore
    private let kind: String
    private let logger: Logger
    private let pending: Mutex<RequestStatistics>
    /// A write that failed, with its id: sent again before anything newer. Touched only holding `writing`.
    private let failed = Mutex<(id: UUID, statistics: RequestStatistics)?>(nil)
    private let stopped = Atomic<Bool>(false)
    /// Held for a whole write, so that `flush` waits for one the thread has under way instead of exiting in the
    /// middle of it (its transaction would then roll back, and its counts be lost).
    private let writing = Mutex(())

    /// How long after `flush` is called its write may still start, even past the deadline: the counts of what was
    /// committed are worth one write (at most one reply timeout more when Postgres does not answer).
    static let lastWriteAllowance: Duration = .seconds(1)

    public init(kind: String, store: any ModelStore, logger: Logger) {
        self.kind = kind
        self.store = store
        self.logger = logger
        pending = Mutex(RequestStatistics(kind: kind))
    }

    public func start(intervalSeconds: Double = 1) {
        BackgroundThread.start(name: "\(kind)-statistics") { [self] in
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: intervalSeconds)
                if !stopped.load(ordering: .relaxed) { write() }
            }
        }
    }

    public func add(latencyMicroseconds: Double, anomaly: Bool = false) {
        pending.withLock { $0.add(latencyMicroseconds: latencyMicroseconds, anomaly: anomaly) }
    }

    public func add<Records: Sequence<PredictionRecord>>(_ records: Records) {
        pending.withLock { $0.add(records) }
    }

    /// Stops the thread from starting another write (one under way goes on). Shutdown calls it first, so that
    /// no write starts while the prediction log is being flushed.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Stops the thread and writes what is left, after any write the thread has under way. The write starts
    /// before `deadline` or within `lastWriteAllowance` of the call, whichever is later: without it a shutdown
    /// that used its whole period on the prediction log would leave the dashboard's totals below the log for
    /// good. Past both, nothing is written, and what is left is logged as not written.
    /// - Parameter deadline: when the shutdown's period ends; the write may outlast it by the store's reply timeout.
    public func flush(deadline: ContinuousClock.Instant) {
        stop()
        let latestStart = max(deadline, .now + Self.lastWriteAllowance)
        writing.withLock { _ in
            guard ContinuousClock.now < latestStart else { return }
            writePending()
        }
        let left = pending.withLock { $0.count } + (failed.withLock { $0?.statistics.count } ?? 0)
        if left > 0 {
            logger.warning("request statistics not written at shutdown", metadata: ["kind": "\(kind)", "requests": "\(left)"])
        }
    }

    private func write() {
        writing.withLock { _ in writePending() }
    }

    /// Call holding `writing`.
    private func writePending() {
        if let (id, statistics) = failed.withLock({ $0 }) {
            guard send(statistics, id: id) else { return }
            failed.withLock { $0 = nil }
        }
        let taken = pending.withLock { statistics in
            let taken = statistics
            statistics = RequestStatistics(kind: kind)
            return taken
        }
        guard !taken.isEmpty else { return }
        let id = UUID()
        if !send(taken, id: id) { failed.withLock { $0 = (id, taken) } }
    }

    private func send(_ statistics: RequestStatistics, id: UUID) -> Bool {
        do {
            try store.record(statistics, writeID: id)
            return true
        } catch {
            logger.warning("request statistics not written; will retry", metadata: ["kind": "\(kind)", "error": "\(error)"])
            return false
        }
    }
}
