import CSystemShims
import Foundation

/// Starts the service's housekeeping threads (prediction log, subscription upkeep, latency publishing) at a
/// lower scheduling priority than the event loops: when a CPU is saturated, a loop thread that wakes up
/// preempts them at once instead of waiting out their time slice, which would show in the predict p99.
///
/// Not SCHED_IDLE: on a CPU its event loop saturates, an idle-policy thread never runs at all (tried for the
/// prediction log: 24,000 records dropped in one 8-second wrk run, where nice 10 drops none).
public enum BackgroundThread {
    /// How a housekeeping thread competes with the event loops for a CPU.
    public enum Priority: Sendable {
        /// Normal: for work whose timing matters (the subscription's PINGs, the status probe's deadlines).
        case normal
        /// Nice 10: runs beside a busy loop with about a tenth of its weight.
        case low
    }

    /// Starts `body` on a thread of its own, named `name` for top -H, ps -L and perf.
    public static func start(name: String, priority: Priority = .low, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            c_shims_name_thread(name)
            if priority == .low { _ = c_shims_set_thread_niceness(10) }
            body()
        }
        thread.name = name
        thread.start()
    }
}
