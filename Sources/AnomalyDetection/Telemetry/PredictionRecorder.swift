import Foundation
import Logging
import Synchronization

/// Writes the prediction log to Postgres off the request path: requests append to a bounded buffer, a
/// thread of its own takes the whole buffer at once (so that the lock the request path shares is held for
/// an append or a swap, never for a copy) and sends it into the log's open write, which it commits once the
/// write is `commitIntervalMilliseconds` old or traffic pauses. Records count as written when committed, and
/// each is logged once: a failed write's records are sent again, but those of a commit that got no answer only
/// once the log says it was not committed after all. When Postgres is down or slow and the buffer is full, new
/// records are dropped and counted; `flush` on shutdown writes and commits what is left.
public final class PredictionRecorder: Sendable {
    /// Buffering and batching.
    public struct Configuration: Sendable {
        /// The most records held in memory.
        public var capacity: Int = 200_000
        /// The most records per `append`. A pass of the writer usually fits in one.
        /// Each row holds at most 250 records of one series (`PredictionColumns`), so that it fits in a heap
        /// page (migration 2) rather than going to TOAST.
        public var batchSize: Int = 4096
        /// How long a write stays open before it is committed while records keep coming. Postgres inserts a
        /// COPY's rows 64 kB at a time and its cost per commit was most of what it spent on a pass's few
        /// hundred records; both land on the machine's shared CPUs in one piece. Measured at 50-85k predicts/s,
        /// same build, alternating 8-s rounds, p99 medians of 5: every pass (5 ms) 1.56 ms, 20 ms 1.51 ms,
        /// 50 ms 1.69 ms, 200 ms 2.2 ms (fewer, larger pieces); one INSERT per pass was 1.95 ms. Postgres's CPU
        /// per predict: 0.27-0.43 µs at 20 ms, 0.48-0.66 µs with the INSERT.
        public var commitIntervalMilliseconds: Int = 20
        /// How often the writer looks at the buffer: often, so that each pass is short. On a CPU the event loop
        /// saturates, a pass (this thread's work and, when Postgres shares the machine, its backend's) holds
        /// the loop up for as long as it lasts. Measured with `perf sched` at 47-54k predicts/s, 4 s: every
        /// 20 ms, 36-136 holds over 0.5 ms; every 5 ms, 15-27, and half the Postgres CPU on the loop's CPU.
        public var intervalMilliseconds: Int = 5
        /// The longest wait between two looks when nothing has been recorded: the wait doubles after each empty
        /// pass up to this, so an idle process (or one that never predicts, like training) is not woken 200
        /// times a second for nothing.
        public var idleIntervalMilliseconds: Int = 100
        /// How long past the shutdown deadline `flush` waits for a pass the writer thread has under way (each of its
        /// calls gives up after the connection's reply timeout, 3 s by default), so that what that pass commits is
        /// counted before the statistics' last write.
        public var shutdownOverrun: Duration = .seconds(3)

        public init() {}
    }

    private struct Buffer {
        var pending: [PredictionRecord] = []
        var dropped: Int = 0
        var written: Int = 0
        var writing = false
        /// Records the writer has out of the buffer during a pass (taken, open or in doubt), still pending.
        var inPass = 0
        /// The open write and a write in doubt (whose records are older than anything in `pending`), kept here
        /// between the writer's passes.
        var carried = PredictionLogPass.Carried()

        /// Every record held in memory and not yet written: buffered, out with the writer, open or in doubt.
        /// `capacity` bounds this, not `pending` alone, so a pass stuck on a hung Postgres cannot let the
        /// buffer fill again behind it.
        var held: Int { pending.count + inPass + carried.count }
    }

    private let log: any PredictionLogWriter
    private let configuration: Configuration
    private let logger: Logger
    private let buffer = Mutex(Buffer())
    /// A write that keeps failing (Postgres down, a write in doubt) is retried every pass: logged every 5 s.
    private let failureWarnings = Mutex(WarningThrottle())
    private let stopped = Atomic<Bool>(false)
    /// The most records a fresh buffer is sized for in advance (about a megabyte); past it, appends grow it.
    private static let largestReservation = 16_384
    /// How many records the writer took last time: the capacity of the next buffer.
    private let lastTaken = Atomic<Int>(0)
    /// The committed predictions added up for the dashboard (per series, per minute).
    private let statistics: StatisticsWriter

    /// - Parameters:
    ///   - log: where the records go.
    ///   - statisticsStore: where their per-series and per-minute counts go.
    public init(log: any PredictionLogWriter, statisticsStore: any ModelStore, configuration: Configuration = Configuration(), logger: Logger) {
        self.log = log
        self.configuration = configuration
        self.logger = logger
        statistics = StatisticsWriter(kind: "predict", store: statisticsStore, logger: logger)
    }

    /// Starts the writer threads.
    public func start() {
        statistics.start()
        BackgroundThread.start(name: "prediction-log") { [self] in
            var interval = configuration.intervalMilliseconds
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: Double(interval) / 1000)
                let wrote = writePending(until: nil)
                interval = wrote ? configuration.intervalMilliseconds : min(interval * 2, max(configuration.intervalMilliseconds, configuration.idleIntervalMilliseconds))
            }
        }
    }

    /// Queues one record; never blocks on I/O.
    public func record(_ record: PredictionRecord) {
        buffer.withLock { buffer in
            if buffer.held >= configuration.capacity {
                buffer.dropped += 1
            } else {
                buffer.pending.append(record)
            }
        }
    }

    /// Queues many records (a batch predict).
    public func record(_ records: [PredictionRecord]) {
        for item in records { record(item) }
    }

    /// Records dropped because the buffer was full, written (committed), and still waiting (sent or not).
    public var counts: (dropped: Int, written: Int, pending: Int) {
        buffer.withLock { ($0.dropped, $0.written, $0.held) }
    }

    /// Stops the thread and writes everything left, giving up at `deadline`; then writes the statistics of what
    /// was committed, even past it.
    /// - Parameter deadline: when to stop starting log passes. A pass under way is waited for up to
    ///   `shutdownOverrun` past it, and the statistics get one write after that: without it, the dashboard's totals
    ///   would stay below what the log holds for good.
    public func flush(deadline: ContinuousClock.Instant) {
        stopped.store(true, ordering: .relaxed)
        statistics.stop()
        writePending(until: deadline)
        let overrun = deadline + configuration.shutdownOverrun
        while buffer.withLock({ $0.writing }) && ContinuousClock.now < overrun {
            Thread.sleep(forTimeInterval: 0.01)
        }
        statistics.flush(deadline: deadline)
        let left = counts.pending
        if left > 0 {
            logger.warning("prediction records not written at shutdown", metadata: ["count": "\(left)"])
        }
    }

    /// Sends what is buffered into the open write and commits it when due; at shutdown (`deadline` set) goes on
    /// until everything is committed, a write fails past the deadline, or `deadline` passes.
    /// - Returns: whether there was anything new to write.
    @discardableResult
    private func writePending(until deadline: ContinuousClock.Instant?) -> Bool {
        var found = false
        while true {
            if let deadline, ContinuousClock.now >= deadline { return found }
            // The buffer the request path fills next is allocated here, as large as the last one taken (up to a
            // megabyte), so that appending rarely reallocates (and copies) on an event loop holding the lock.
            var fresh: [PredictionRecord] = []
            fresh.reserveCapacity(min(Self.largestReservation, configuration.capacity, max(64, lastTaken.load(ordering: .relaxed))))
            let policy = PredictionLogPass.Policy(batchSize: configuration.batchSize, commitInterval: .milliseconds(configuration.commitIntervalMilliseconds),
                                                  commitNow: deadline != nil)
            let started: PredictionLogPass? = buffer.withLock { buffer in
                guard !buffer.writing else { return nil }
                buffer.writing = true
                swap(&fresh, &buffer.pending)
                let pass = PredictionLogPass(taken: fresh, carried: buffer.carried, policy: policy)
                buffer.inPass = pass.held
                buffer.carried = PredictionLogPass.Carried()
                return pass
            }
            guard var pass = started else {
                // The writer thread is finishing a pass; at shutdown wait for it rather than return early.
                guard deadline != nil else { return found }
                Thread.sleep(forTimeInterval: 0.01)
                continue
            }
            lastTaken.store(pass.taken.count, ordering: .relaxed)
            found = found || !pass.taken.isEmpty
            carryOut(&pass)
            let (committed, putBack, failure) = (pass.committed, pass.putBack, pass.failure)
            if !committed.isEmpty { statistics.add(committed) }
            buffer.withLock { buffer in
                buffer.written += committed.count
                buffer.writing = false
                buffer.inPass = 0
                buffer.carried = pass.carried
                if !putBack.isEmpty {
                    // Older records go back in front; what no longer fits is dropped and counted.
                    let room = max(0, configuration.capacity - buffer.held)
                    let kept = putBack.prefix(room)
                    buffer.dropped += putBack.count - kept.count
                    buffer.pending.insert(contentsOf: kept, at: 0)
                }
            }
            if let failure {
                if let repeats = failureWarnings.withLock({ $0.admit() }) {
                    logger.warning("prediction log write failed; will retry", metadata: [
                        "error": "\(failure)", "pending": "\(putBack.count)", "in_doubt": "\(pass.inDoubt?.records.count ?? 0)",
                        "repeats_not_logged": "\(repeats)",
                    ])
                }
                // A failed write counts as an idle pass: retries back off to the idle interval.
                guard let deadline, ContinuousClock.now < deadline else { return false }
                Thread.sleep(forTimeInterval: 0.1)
                continue
            }
            if !committed.isEmpty { failureWarnings.withLock { $0.reset() } }
            if deadline == nil || (pass.taken.isEmpty && pass.uncommitted.isEmpty && pass.inDoubt == nil && putBack.isEmpty) { return found }
        }
    }

    /// Carries out a pass's steps against the log (`PredictionLogPass` decides them).
    private func carryOut(_ pass: inout PredictionLogPass) {
        while true {
            switch pass.next(now: .now) {
            case .settle(let write):
                do { pass.settled(try log.isCommitted(write)) } catch { pass.failed(error) }
            case .append(let batch):
                do { pass.appended(to: try log.append(batch), now: .now) } catch { pass.failed(error) }
            case .commit:
                do {
                    try log.commit()
                    pass.commitSucceeded()
                } catch {
                    pass.failed(error)
                }
            case .abandon:
                log.abandon()
            case .finished:
                return
            }
        }
    }
}
