/// Spaces request starts evenly at a fixed rate, on an absolute schedule so that lateness does not drift.
///
/// Slot `k` is due at `start + k / rate`. A driver that falls behind (every connection busy, a
/// late wake-up) catches up, but only on the last `maxBacklog` of missed slots, so a long stall
/// is not followed by a burst the size of the stall.
struct RatePacer: Sendable {
    /// Nanoseconds between slots.
    let interval: Double
    /// Monotonic time of slot 0, in nanoseconds.
    let start: UInt64
    /// How far behind schedule the pacer still catches up, in nanoseconds.
    let maxBacklog: UInt64
    /// Slots handed out so far (including any forgiven after a stall).
    private(set) var slot: UInt64 = 0

    /// - Parameters:
    ///   - ratePerSecond: requests per second; must be positive.
    ///   - start: monotonic nanoseconds at which the first slot is due.
    ///   - maxBacklog: the most lateness that is made up for, in nanoseconds (default 100 ms).
    init(ratePerSecond: Double, start: UInt64, maxBacklog: UInt64 = 100_000_000) {
        precondition(ratePerSecond > 0, "rate must be positive")
        interval = 1e9 / ratePerSecond
        self.start = start
        self.maxBacklog = maxBacklog
    }

    /// When the next slot is due, in monotonic nanoseconds.
    var nextDue: UInt64 { dueTime(of: slot) }

    /// Whether a request may start at `now`.
    func isSlotDue(now: UInt64) -> Bool {
        now >= nextDue
    }

    /// Nanoseconds until the next slot; 0 when one is already due.
    func nanosecondsUntilNextSlot(now: UInt64) -> UInt64 {
        let due = nextDue
        return due > now ? due - now : 0
    }

    /// Takes the due slot. Call only after `isSlotDue(now:)` returned `true`.
    mutating func consumeSlot(now: UInt64) {
        if now > nextDue && now - nextDue > maxBacklog {
            let behind = Double(now - maxBacklog - start) / interval
            slot = max(slot, UInt64(behind.rounded(.up)))
        }
        slot += 1
    }

    private func dueTime(of slot: UInt64) -> UInt64 {
        start + UInt64(Double(slot) * interval)
    }
}
