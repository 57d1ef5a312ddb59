import CSystemShims
import DequeModule
import Foundation

/// A fixed set of threads for handlers that block (libpq, hiredis, sleep), with a bounded queue.
/// Event loops never wait on it: a full queue is refused at once so the caller can answer 503.
final class BlockingPool: @unchecked Sendable {
    // Invariant: `jobs` and `stopping` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs = Deque<@Sendable () -> Void>()
    private var stopping = false
    private var threads: [Thread] = []
    private let capacity: Int
    private let finished = DispatchGroup()

    /// - Parameters:
    ///   - threadCount: threads that run jobs.
    ///   - queueCapacity: jobs waiting beyond the running ones before `submit` refuses.
    init(threadCount: Int, queueCapacity: Int) {
        capacity = queueCapacity
        for index in 0..<max(1, threadCount) {
            finished.enter()
            let thread = Thread { [self] in
                c_shims_name_thread("http-pool-\(index)")
                work()
                finished.leave()
            }
            thread.name = "http-blocking-\(index)"
            thread.stackSize = 8 << 20
            threads.append(thread)
        }
        threads.forEach { $0.start() }
    }

    /// Queues `job`.
    /// - Returns: `false` when the queue is full or the pool is stopping; the job is not run.
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, jobs.count < capacity else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Lets queued jobs finish, then stops the threads.
    /// - Returns: whether every thread stopped before `deadline`.
    @discardableResult
    func shutdown(deadline: DispatchTime) -> Bool {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        return finished.wait(timeout: deadline) == .success
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            guard let job = jobs.popFirst() else {
                condition.unlock()
                return
            }
            condition.unlock()
            job()
        }
    }
}
