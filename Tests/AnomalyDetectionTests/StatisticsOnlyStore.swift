@testable import AnomalyDetection

/// A `ModelStore` for tests that only record request statistics: the model calls are never made.
protocol StatisticsOnlyStore: ModelStore {}

extension StatisticsOnlyStore {
    func save(seriesID: SeriesID, model: ThreeSigmaModel, data: TrainingSeries) throws -> StoredModel { fatalError("not used") }
    func latest(for seriesID: String) throws -> StoredModel? { nil }
    func model(for seriesID: String, version: Int) throws -> StoredModel? { nil }
    func versions(of seriesID: String) throws -> [StoredModel] { [] }
    func listSeries(limit: Int, offset: Int) throws -> (series: [SeriesSummary], total: Int) { ([], 0) }
    func seriesCount() throws -> Int { 0 }
    func ping() throws {}
}
