import Foundation
import Logging
import Synchronization

/// Writes the prediction log to Postgres off the request path: requests append to a bounded buffer, a
/// thread of its own writes batches. When Postgres is down or slow and the buffer is full, the oldest
/// records are dropped and counted; `flush` on shutdown writes what is left.
public final class PredictionRecorder: Sendable {
    /// Buffering and batching.
    public struct Configuration: Sendable {
        /// The most records held in memory.
        public var capacity: Int = 200_000
        /// The most records per INSERT.
        public var batchSize: Int = 2_000
        /// How often the writer looks at the buffer: often, so that each pass is short (a long pass on a
        /// saturated CPU delays requests).
        public var intervalMilliseconds: Int = 50

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

    public init(store: any ModelStore, configuration: Configuration = Configuration(), logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts the writer thread.
    public func start() {
        BackgroundThread.start(name: "prediction-log") { [self] in
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: Double(configuration.intervalMilliseconds) / 1000)
                writePending(until: nil)
            }
        }
    }

    /// Queues one record; never blocks on I/O.
    public func record(_ record: PredictionRecord) {
        buffer.withLock { buffer in
            if buffer.pending.count >= configuration.capacity {
                buffer.pending.removeFirst(buffer.pending.count - configuration.capacity + 1)
                buffer.dropped += 1
            }
            buffer.pending.append(record)
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
        let left = counts.pending
        if left > 0 {
            logger.warning("prediction records not written at shutdown", metadata: ["count": "\(left)"])
        }
    }

    /// Writes batches until the buffer is empty, a write fails, or `deadline` passes.
    private func writePending(until deadline: ContinuousClock.Instant?) {
        while true {
            if let deadline, ContinuousClock.now >= deadline { return }
            let batch: [PredictionRecord] = buffer.withLock { buffer in
                guard !buffer.writing, !buffer.pending.isEmpty else { return [] }
                buffer.writing = true
                let count = min(configuration.batchSize, buffer.pending.count)
                let batch = Array(buffer.pending.prefix(count))
                buffer.pending.removeFirst(count)
                return batch
            }
            guard !batch.isEmpty else {
                if deadline != nil, buffer.withLock({ $0.writing }) {
                    // The writer thread is finishing a batch; wait for it rather than return early.
                    Thread.sleep(forTimeInterval: 0.01)
                    continue
                }
                return
            }
            do {
                try store.record(batch)
                buffer.withLock {
                    $0.written += batch.count
                    $0.writing = false
                }
            } catch {
                // Put the batch back in front; the bound still holds because record() drops the oldest.
                buffer.withLock { buffer in
                    buffer.pending.insert(contentsOf: batch, at: 0)
                    let excess = buffer.pending.count - configuration.capacity
                    if excess > 0 {
                        buffer.pending.removeFirst(excess)
                        buffer.dropped += excess
                    }
                    buffer.writing = false
                }
                logger.warning("prediction log write failed; will retry", metadata: ["error": "\(error)", "pending": "\(batch.count)"])
                if let deadline {
                    guard ContinuousClock.now < deadline else { return }
                    Thread.sleep(forTimeInterval: 0.1)
                    continue
                }
                return
            }
        }
    }
}
