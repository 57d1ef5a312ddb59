/// Which side of the band counts as anomalous.
public enum Direction: String, Codable, Sendable, CaseIterable {
    /// Either side: `|value − mean| > k·σ`.
    case both
    /// Above only: `value > mean + k·σ` (the challenge's reference model).
    case upper
    /// Below only: `value < mean − k·σ`.
    case lower
}
