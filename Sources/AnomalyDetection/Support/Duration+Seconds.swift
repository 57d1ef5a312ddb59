extension Duration {
    /// The duration in seconds, as a `Double` (what timed waits and JSON figures take).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
