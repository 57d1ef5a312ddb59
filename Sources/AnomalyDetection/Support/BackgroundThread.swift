import CSystemShims
import Foundation

/// Starts the service's housekeeping threads (prediction log, subscription upkeep, latency publishing) at a
/// lower scheduling priority than the event loops: when a CPU is saturated, a loop thread that wakes up
/// preempts them at once instead of waiting out their time slice, which would show in the predict p99.
public enum BackgroundThread {
    /// The nice value of housekeeping threads (0 is normal, 19 lowest).
    public static let niceness: Int32 = 10

    /// - Parameter niceness: 0 keeps normal priority, for work whose timing matters (the subscription's PINGs).
    public static func start(name: String, niceness: Int32 = BackgroundThread.niceness, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            if niceness != 0 { _ = c_shims_set_thread_niceness(niceness) }
            body()
        }
        thread.name = name
        thread.start()
    }
}
