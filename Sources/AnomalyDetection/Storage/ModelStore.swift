import Foundation

/// The source of truth for models: where fits are committed and every other copy is rebuilt from.
public protocol ModelStore: Sendable {
    /// Commits a fitted model and its training data under the series' next version, atomically.
    /// - Returns: the stored model, with its version and commit time.
    func save(seriesID: SeriesID, model: ThreeSigmaModel, data: TrainingSeries) throws -> StoredModel
    /// The newest version of a series, or nil when it has none.
    func latest(for seriesID: String) throws -> StoredModel?
    /// One version of a series, or nil.
    func model(for seriesID: String, version: Int) throws -> StoredModel?
    /// Every version of a series, oldest first (empty when unknown).
    func versions(of seriesID: String) throws -> [StoredModel]
    /// Series ordered by id, with their latest model, and how many there are in all.
    func listSeries(limit: Int, offset: Int) throws -> (series: [SeriesSummary], total: Int)
    /// How many series have at least one model.
    func seriesCount() throws -> Int
    /// Adds request statistics to the current minute's and, for predictions, to each series' counts, once per
    /// `writeID`: a write sent again with the same id (its answer was lost) adds nothing the second time.
    /// - Parameters:
    ///   - statistics: the counts to add.
    ///   - writeID: chosen by the writer, and the same when it sends a failed write again.
    /// - Throws: when the store could not be reached or did not answer (the write may still have been applied).
    func record(_ statistics: RequestStatistics, writeID: UUID) throws
    /// One round trip, for health checks.
    func ping() throws
}
