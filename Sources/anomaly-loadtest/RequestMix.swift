/// Decides which kind each next request is, so that fits make up exactly `fitRatio` of them.
///
/// Deterministic rather than random: after `n` requests, `floor(n · fitRatio)` were fits, spread
/// evenly (a ratio of 0.1 makes every tenth request a fit).
struct RequestMix: Sendable {
    /// Share of requests that are fits, from 0 (only predicts) to 1 (only fits).
    let fitRatio: Double
    private(set) var issued = 0
    private(set) var fits = 0

    init(fitRatio: Double) {
        precondition((0...1).contains(fitRatio), "fit ratio must lie in 0...1")
        self.fitRatio = fitRatio
    }

    /// The kind of the next request.
    var nextKind: RequestKind {
        let fitsDue = Int((Double(issued + 1) * fitRatio + 1e-9).rounded(.down))
        return fitsDue > fits ? .fit : .predict
    }

    /// Records that the next request was issued.
    mutating func advance() {
        if nextKind == .fit { fits += 1 }
        issued += 1
    }
}
