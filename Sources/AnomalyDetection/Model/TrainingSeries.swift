/// The points a model is fitted on: strictly increasing unix timestamps and finite values.
public struct TrainingSeries: Sendable, Equatable {
    public let timestamps: [Int64]
    public let values: [Double]

    /// Checks the contract's preflight rules in the order a client would fix them.
    /// - Parameter minimumPoints: fewer points than this is rejected (`MIN_TRAINING_POINTS`).
    /// - Throws: `ValidationError` naming the field and, where there is one, the index.
    public init(timestamps: [Int64], values: [Double], minimumPoints: Int) throws {
        guard timestamps.count == values.count else {
            throw ValidationError(field: "values", message: "timestamps has \(timestamps.count) items but values has \(values.count); they must have the same length")
        }
        guard values.count >= minimumPoints else {
            throw ValidationError(field: "values", message: "at least \(minimumPoints) points are needed to fit a model, got \(values.count)")
        }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw ValidationError(field: "values[\(index)]", message: "values[\(index)] is not a finite number")
        }
        for index in timestamps.indices.dropFirst() where timestamps[index] <= timestamps[index - 1] {
            let problem = timestamps[index] == timestamps[index - 1] ? "duplicates" : "is earlier than"
            throw ValidationError(
                field: "timestamps[\(index)]",
                message: "timestamps must be strictly increasing: timestamps[\(index)]=\(timestamps[index]) \(problem) timestamps[\(index - 1)]=\(timestamps[index - 1])"
            )
        }
        self.timestamps = timestamps
        self.values = values
    }

    public var count: Int { values.count }
}
