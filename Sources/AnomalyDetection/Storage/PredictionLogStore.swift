/// What the prediction log's retention needs from the database.
public protocol PredictionLogStore: Sendable {
    /// Deletes the oldest batches of the prediction log recorded more than `hours` ago, at most `limit` of them,
    /// and, once none are left to delete (fewer than `limit` deleted), the per-minute request statistics older
    /// than that. The per-series counts stay.
    /// - Returns: how many batches were deleted.
    func prunePredictionLog(olderThanHours hours: Int, limit: Int) throws -> Int
}
