/// Lets a failure that repeats (a retry every pass while a dependency is down) be logged once, then at most
/// once per `interval`, with the count of repeats left out in between.
public struct WarningThrottle: Sendable {
    public let interval: Duration
    private var lastLogged: ContinuousClock.Instant?
    private var repeats = 0

    public init(interval: Duration = .seconds(5)) {
        self.interval = interval
    }

    /// Called for each failure.
    /// - Returns: nil when this one should not be logged; otherwise how many were left out since the last one logged.
    public mutating func admit(at now: ContinuousClock.Instant = .now) -> Int? {
        if let lastLogged, now - lastLogged < interval {
            repeats += 1
            return nil
        }
        defer { lastLogged = now; repeats = 0 }
        return repeats
    }

    /// After a success: the next failure is logged at once.
    public mutating func reset() {
        lastLogged = nil
        repeats = 0
    }
}
