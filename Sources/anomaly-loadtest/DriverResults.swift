import Dispatch
import Synchronization

/// Where driver threads leave their statistics, and how the main thread learns they are done.
final class DriverResults: Sendable {
    private let slots: Mutex<[WorkerStatistics?]>
    private let finished = DispatchSemaphore(value: 0)

    init(count: Int) {
        slots = Mutex([WorkerStatistics?](repeating: nil, count: count))
    }

    /// Called by driver `index`'s thread when it is done.
    func store(_ statistics: WorkerStatistics, at index: Int) {
        slots.withLock { $0[index] = statistics }
        finished.signal()
    }

    /// Waits until one more driver finished or `deadline` passed. - Returns: whether one finished.
    func waitForNext(until deadline: DispatchTime) -> Bool {
        finished.wait(timeout: deadline) == .success
    }

    /// Every driver's statistics merged (call after all have finished).
    func merged() -> WorkerStatistics {
        slots.withLock { slots in
            var total = WorkerStatistics()
            for case let statistics? in slots { total.merge(statistics) }
            return total
        }
    }
}
