import Synchronization

/// The two figures the progress line needs while a driver runs; one instance per driver, so that
/// drivers never contend on a cache line.
final class LiveCounters: Sendable {
    /// Requests finished, with a response or a failure.
    let finished = Atomic<Int>(0)
    /// Of those, error statuses (400 and up) and failures.
    let errors = Atomic<Int>(0)
}
