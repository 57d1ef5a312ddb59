/// The live line on stderr, once a second: elapsed time, requests, current rate, errors.
struct ProgressLine {
    /// Whether to print at all (`--quiet` turns it off).
    let enabled: Bool
    /// On a terminal the line rewrites itself; elsewhere (a log, a test) each update is a new line.
    let inPlace: Bool
    private let start: UInt64
    private var lastTime: UInt64
    private var lastFinished = 0

    init(enabled: Bool, inPlace: Bool = StandardError.isTerminal, start: UInt64) {
        self.enabled = enabled
        self.inPlace = inPlace
        self.start = start
        lastTime = start
    }

    /// Prints the current figures, summed over the drivers.
    mutating func update(_ counters: [LiveCounters], now: UInt64 = MonotonicClock.now()) {
        guard enabled else { return }
        let finished = counters.reduce(0) { $0 + $1.finished.load(ordering: .relaxed) }
        let errors = counters.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let interval = Double(now - lastTime) / 1e9
        let rate = interval > 0 ? Double(finished - lastFinished) / interval : 0
        let line = Self.format(elapsed: Double(now - start) / 1e9, requests: finished, rate: rate, errors: errors)
        StandardError.write(inPlace ? "\r\u{1B}[K" + line : line + "\n")
        lastTime = now
        lastFinished = finished
    }

    /// Ends the in-place line so that what follows starts on its own line.
    func finish() {
        if enabled && inPlace { StandardError.write("\n") }
    }

    /// `[  3.0 s] 123456 requests, 41234 req/s, 0 errors`
    static func format(elapsed: Double, requests: Int, rate: Double, errors: Int) -> String {
        "[\(Formatting.fixed(elapsed, digits: 1, width: 5)) s] \(requests) requests, \(Int(rate.rounded())) req/s, \(errors) errors"
    }
}
