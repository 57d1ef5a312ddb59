import CSystemShims
import Foundation

/// Starts the service's housekeeping threads (prediction log, subscription upkeep, latency publishing) at a
/// lower scheduling priority than the event loops: when a CPU is saturated, a loop thread that wakes up
/// preempts them at once instead of waiting out their time slice, which would show in the predict p99.
public enum BackgroundThread {
    /// How a housekeeping thread competes with the event loops for a CPU.
    public enum Priority: Sendable {
        /// Normal: for work whose timing matters (the subscription's PINGs, the status probe's deadlines).
        case normal
        /// Nice 10: runs beside a busy loop, with a tenth of its weight.
        case low
        /// SCHED_IDLE: runs only when the CPU has nothing else to do, so it never delays a request; for work
        /// that can wait and whose backlog is bounded (the prediction log, which counts what it drops).
        case idle
    }

    public static func start(name: String, priority: Priority = .low, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            c_shims_name_thread(name)
            switch priority {
            case .normal: break
            case .low: _ = c_shims_set_thread_niceness(10)
            case .idle: _ = c_shims_set_thread_idle_policy()
            }
            body()
        }
        thread.name = name
        thread.start()
    }
}
