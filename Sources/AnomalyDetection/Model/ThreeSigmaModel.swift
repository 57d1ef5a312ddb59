/// The 3-sigma model of one series version: a point is anomalous when it lies strictly outside
/// `mean ± threshold·std` (on the side `direction` names). Pure code, no I/O.
public struct ThreeSigmaModel: Sendable, Equatable, Codable {
    public let mean: Double
    /// Population standard deviation (divides by n, as `numpy.std` does).
    public let std: Double
    /// The k in k·σ.
    public let threshold: Double
    public let direction: Direction
    public let pointsUsed: Int

    /// The default k when a fit does not name one.
    public static let defaultThreshold = 3.0

    public init(mean: Double, std: Double, threshold: Double, direction: Direction, pointsUsed: Int) {
        self.mean = mean
        self.std = std
        self.threshold = threshold
        self.direction = direction
        self.pointsUsed = pointsUsed
    }

    /// Fits the model on validated points.
    /// - Parameters:
    ///   - series: the training points.
    ///   - threshold: k, finite and positive.
    ///   - direction: which side is anomalous.
    /// - Returns: the fitted model.
    /// - Throws: `ValidationError` for a bad threshold or a constant series (σ = 0 leaves no band).
    public static func fit(_ series: TrainingSeries, threshold: Double = defaultThreshold, direction: Direction = .both) throws -> ThreeSigmaModel {
        guard threshold.isFinite, threshold > 0 else {
            throw ValidationError(field: "threshold", message: "threshold must be a finite number greater than 0, got \(threshold)")
        }
        let values = series.values
        guard let first = values.first, values.contains(where: { $0 != first }) else {
            throw ValidationError(field: "values", message: "the series is constant (std = 0), so no point could be told apart from it")
        }
        let (mean, std) = meanAndStandardDeviation(values)
        guard std > 0, std.isFinite, mean.isFinite else {
            throw ValidationError(field: "values", message: "the values are too extreme to fit: mean or std is not a finite number")
        }
        return ThreeSigmaModel(mean: mean, std: std, threshold: threshold, direction: direction, pointsUsed: values.count)
    }

    /// Mean and population standard deviation, stable for large offsets with small spread: a compensated
    /// (Neumaier) sum for the mean, then the corrected two-pass sum of squared deviations.
    static func meanAndStandardDeviation(_ values: [Double]) -> (mean: Double, std: Double) {
        let count = Double(values.count)
        var sum = CompensatedSum()
        for value in values { sum.add(value) }
        let mean = sum.total / count
        var squares = CompensatedSum()
        var deviations = CompensatedSum()
        for value in values {
            let deviation = value - mean
            squares.add(deviation * deviation)
            deviations.add(deviation)
        }
        // The correction term removes the error left in `mean` (Chan, Golub & LeVeque's two-pass formula).
        let correction = deviations.total * deviations.total / count
        let variance = max(0, (squares.total - correction) / count)
        return (mean, variance.squareRoot())
    }

    /// `mean − threshold·std`.
    public var lowerBound: Double { mean - threshold * std }
    /// `mean + threshold·std`.
    public var upperBound: Double { mean + threshold * std }

    /// Scores one point.
    public func predict(_ value: Double) -> Prediction {
        let anomaly: Bool
        switch direction {
        case .both: anomaly = abs(value - mean) > threshold * std
        case .upper: anomaly = value > upperBound
        case .lower: anomaly = value < lowerBound
        }
        // A finite value far enough out overflows the division; JSON has no infinity, so the score
        // saturates at the largest finite Double (the verdict is already decided above).
        let z = (value - mean) / std
        return Prediction(anomaly: anomaly, zScore: z.isNaN ? 0 : min(max(z, -.greatestFiniteMagnitude), .greatestFiniteMagnitude))
    }

    /// Scores many points, in input order.
    public func predict(_ values: [Double]) -> [Prediction] {
        values.map(predict)
    }
}

/// The verdict on one point.
public struct Prediction: Sendable, Equatable {
    public let anomaly: Bool
    /// `(value − mean) / std`, saturated to a finite number when that overflows.
    public let zScore: Double
}

/// Neumaier's compensated summation: the error of each addition is kept and added back at the end.
struct CompensatedSum {
    private var sum = 0.0
    private var compensation = 0.0

    mutating func add(_ value: Double) {
        let next = sum + value
        if abs(sum) >= abs(value) {
            compensation += (sum - next) + value
        } else {
            compensation += (value - next) + sum
        }
        sum = next
    }

    var total: Double { sum + compensation }
}
