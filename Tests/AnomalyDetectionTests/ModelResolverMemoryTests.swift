import Testing
@testable import AnomalyDetection

@Suite("Models held in memory")
struct ModelResolverMemoryTests {
    private func stored(_ version: Int) -> StoredModel {
        StoredModel(seriesID: "s", version: version,
                    model: ThreeSigmaModel(mean: Double(version), std: 1, threshold: 3, direction: .both, pointsUsed: 3),
                    trainedAt: "2026-11-22T00:00:00.000Z")
    }

    @Test func aSeriesRetrainedForeverHoldsOnlyItsNewestVersions() {
        var held = ModelResolver.SeriesModels()
        var count = 0
        for version in 1...1000 { count += held.insert(stored(version), capacity: 4) }
        #expect(count == 4)
        #expect(held.models.map(\.version) == [1000, 999, 998, 997])
        #expect(held.model(version: 1000)?.model.mean == 1000)
        #expect(held.model(version: 1) == nil)
    }

    @Test func anOldPinnedVersionComesBackWithoutEvictingTheLatest() {
        var held = ModelResolver.SeriesModels()
        for version in [10, 11, 12, 13] { _ = held.insert(stored(version), capacity: 4) }
        // Version 2, asked for again, is kept only if it is not the oldest; here it is, so nothing changes.
        #expect(held.insert(stored(2), capacity: 4) == 0)
        #expect(held.model(version: 13) != nil && held.models.count == 4)
        // Inserting twice counts once.
        var fresh = ModelResolver.SeriesModels()
        #expect(fresh.insert(stored(5), capacity: 4) == 1)
        #expect(fresh.insert(stored(5), capacity: 4) == 0)
        // Out-of-order arrival keeps newest first.
        _ = fresh.insert(stored(7), capacity: 4)
        _ = fresh.insert(stored(6), capacity: 4)
        #expect(fresh.models.map(\.version) == [7, 6, 5])
    }
}
