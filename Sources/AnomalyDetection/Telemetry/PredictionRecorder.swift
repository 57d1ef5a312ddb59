import Foundation
import Logging
import Synchronization

/// Writes the prediction log to Postgres off the request path: requests append to a bounded buffer, a
/// thread of its own takes the whole buffer at once (so that the lock the request path shares is held for
/// an append or a swap, never for a copy) and writes it in batches. When Postgres is down or slow and the
/// buffer is full, new records are dropped and counted; `flush` on shutdown writes what is left.
public final class PredictionRecorder: Sendable {
    /// Buffering and batching.
    public struct Configuration: Sendable {
        /// The most records held in memory.
        public var capacity: Int = 200_000
        /// The most records per INSERT. A pass of the writer usually fits in one: Postgres's cost per statement
        /// (executor start-up, commit, two context switches each side) is most of what it spends on a few
        /// hundred records, and on a shared machine it takes that CPU from the event loops in one piece.
        /// Each row holds at most 250 records of one series (`PredictionColumns`), so that it fits in a heap
        /// page (migration 2) rather than going to TOAST.
        public var batchSize: Int = 4096
        /// How often the writer looks at the buffer: often, so that each pass is short. On a CPU the event loop
        /// saturates, a pass (this thread's work and, when Postgres shares the machine, its backend's) holds
        /// the loop up for as long as it lasts. Measured with `perf sched` at 47-54k predicts/s, 4 s: every
        /// 20 ms, 36-136 holds over 0.5 ms; every 5 ms, 15-27, and half the Postgres CPU on the loop's CPU.
        public var intervalMilliseconds: Int = 5
        /// The longest wait between two looks when nothing has been recorded: the wait doubles after each empty
        /// pass up to this, so an idle process (or one that never predicts, like training) is not woken 200
        /// times a second for nothing.
        public var idleIntervalMilliseconds: Int = 100

        public init() {}
    }

    private struct Buffer {
        var pending: [PredictionRecord] = []
        var dropped: Int = 0
        var written: Int = 0
        var writing = false
    }

    private let store: any ModelStore
    private let configuration: Configuration
    private let logger: Logger
    private let buffer = Mutex(Buffer())
    private let stopped = Atomic<Bool>(false)
    /// The most records a fresh buffer is sized for in advance (about a megabyte); past it, appends grow it.
    private static let largestReservation = 16_384
    /// How many records the writer took last time: the capacity of the next buffer.
    private let lastTaken = Atomic<Int>(0)
    /// The written predictions added up for the dashboard (per series, per minute).
    private let statistics: StatisticsWriter

    public init(store: any ModelStore, configuration: Configuration = Configuration(), logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        statistics = StatisticsWriter(kind: "predict", store: store, logger: logger)
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
            if buffer.pending.count >= configuration.capacity {
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

    /// Records dropped because the buffer was full, written, and still waiting.
    public var counts: (dropped: Int, written: Int, pending: Int) {
        buffer.withLock { ($0.dropped, $0.written, $0.pending.count) }
    }

    /// Stops the thread and writes everything left, giving up at `deadline`.
    public func flush(deadline: ContinuousClock.Instant) {
        stopped.store(true, ordering: .relaxed)
        writePending(until: deadline)
        statistics.flush()
        let left = counts.pending
        if left > 0 {
            logger.warning("prediction records not written at shutdown", metadata: ["count": "\(left)"])
        }
    }

    /// Writes batches until the buffer is empty, a write fails, or `deadline` passes.
    /// - Returns: whether there was anything to write.
    @discardableResult
    private func writePending(until deadline: ContinuousClock.Instant?) -> Bool {
        var found = false
        while true {
            if let deadline, ContinuousClock.now >= deadline { return found }
            // The buffer the request path fills next is allocated here, as large as the last one taken (up to a
            // megabyte), so that appending rarely reallocates (and copies) on an event loop holding the lock.
            var fresh: [PredictionRecord] = []
            fresh.reserveCapacity(min(Self.largestReservation, configuration.capacity, max(64, lastTaken.load(ordering: .relaxed))))
            let taken: [PredictionRecord]? = buffer.withLock { buffer in
                guard !buffer.writing else { return nil }
                buffer.writing = true
                swap(&fresh, &buffer.pending)
                return fresh
            }
            if let taken {
                lastTaken.store(taken.count, ordering: .relaxed)
                found = found || !taken.isEmpty
            }
            guard let taken else {
                // The writer thread is finishing; at shutdown wait for it rather than return early.
                guard deadline != nil else { return found }
                Thread.sleep(forTimeInterval: 0.01)
                continue
            }
            var written = 0
            var failure: (any Error)?
            while written < taken.count {
                let batch = taken[written..<min(taken.count, written + configuration.batchSize)]
                do {
                    try store.record(batch)
                    statistics.add(batch)
                    written += batch.count
                } catch {
                    failure = error
                    break
                }
            }
            let left = taken[written...]
            buffer.withLock { buffer in
                buffer.written += written
                buffer.writing = false
                if !left.isEmpty {
                    // Older records go back in front; what no longer fits is dropped and counted.
                    let room = max(0, configuration.capacity - buffer.pending.count)
                    let kept = left.prefix(room)
                    buffer.dropped += left.count - kept.count
                    buffer.pending.insert(contentsOf: kept, at: 0)
                }
            }
            if let failure {
                logger.warning("prediction log write failed; will retry", metadata: ["error": "\(failure)", "pending": "\(left.count)"])
                // A failed write counts as an idle pass: retries back off to the idle interval.
                guard let deadline, ContinuousClock.now < deadline else { return false }
                Thread.sleep(forTimeInterval: 0.1)
                continue
            }
            if taken.isEmpty || deadline == nil { return found }
        }
    }
}
