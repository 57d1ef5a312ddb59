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

    @Test func aPinnedVersionInUseStaysWhileTheSeriesIsRetrained() {
        var held = ModelResolver.SeriesModels()
        for version in [10, 11, 12, 13] { _ = held.insert(stored(version), capacity: 4) }
        // An old version asked for again takes the place of the one used least recently.
        #expect(held.insert(stored(2), capacity: 4) == 0)
        #expect(held.models.map(\.version) == [13, 12, 11, 2])
        for version in 14...20 {
            #expect(held.model(version: 2)?.version == 2)
            held.markUsed(version: 2)
            _ = held.insert(stored(version), capacity: 4)
        }
        #expect(held.models.map(\.version) == [20, 19, 18, 2], "pinned and in use, it stays; the newest always does")
        // No longer used, it goes like any other.
        for version in 21...23 { _ = held.insert(stored(version), capacity: 4) }
        #expect(held.models.map(\.version) == [23, 22, 21, 20])
        #expect(held.model(version: 2) == nil && held.newest?.version == 23)
    }

    @Test func theNewestIsNeverEvictedAndKeepsNoUseCount() {
        var held = ModelResolver.SeriesModels()
        for version in [1, 2, 3, 4] { _ = held.insert(stored(version), capacity: 4) }
        held.markUsed(version: 1)
        // Besides the newest (never evicted) and the one added, 2 is the least recently used: it goes.
        _ = held.insert(stored(0), capacity: 4)
        #expect(held.models.map(\.version) == [4, 3, 1, 0])
    }

    @Test func insertingTwiceCountsOnceAndOrderIsNewestFirst() {
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
