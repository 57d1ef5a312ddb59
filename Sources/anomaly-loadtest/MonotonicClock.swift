import Glibc

/// Nanoseconds from `CLOCK_MONOTONIC`: the time base for latencies, pacing and deadlines.
enum MonotonicClock {
    /// The current monotonic time in nanoseconds (a vDSO call, cheap enough for every request).
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}
