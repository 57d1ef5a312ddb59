import Foundation
import Logging
import Synchronization
import Testing
@testable import AnomalyDetection

/// The prediction-log writer against a store that only counts (or refuses) what it is given.
@Suite("Prediction-log writer", .serialized)
struct PredictionRecorderTests {
    final class CountingStore: ModelStore {
        let failing: Bool
        /// The size of each `record(_:)` call for predictions, failed ones included.
        let calls = Mutex<[Int]>([])

        init(failing: Bool) { self.failing = failing }

        func record(_ predictions: ArraySlice<PredictionRecord>) throws {
            calls.withLock { $0.append(predictions.count) }
            if failing { throw PostgresError(kind: .unavailable, message: "refused by the test store") }
        }

        func record(_ statistics: RequestStatistics) throws {}
        func save(seriesID: SeriesID, model: ThreeSigmaModel, data: TrainingSeries) throws -> StoredModel { fatalError("not used") }
        func latest(for seriesID: String) throws -> StoredModel? { nil }
        func model(for seriesID: String, version: Int) throws -> StoredModel? { nil }
        func versions(of seriesID: String) throws -> [StoredModel] { [] }
        func listSeries(limit: Int, offset: Int) throws -> (series: [SeriesSummary], total: Int) { ([], 0) }
        func seriesCount() throws -> Int { 0 }
        func ping() throws {}
    }

    private func record(_ recorder: PredictionRecorder, count: Int) {
        for index in 0..<count {
            recorder.record(PredictionRecord(seriesID: index % 3 == 0 ? "a" : "b", version: 1, timestamp: Int64(index), value: 1,
                                             anomaly: false, zScore: 0, latencyMicroseconds: 10))
        }
    }

    @Test("What was recorded since the last pass goes to the store in one statement, not one per 250 records")
    func onePassIsOneStatement() async throws {
        let store = CountingStore(failing: false)
        let recorder = PredictionRecorder(store: store, logger: Logger(label: "test"))
        record(recorder, count: 1_000)
        recorder.start()
        defer { recorder.flush(deadline: .now) }
        for _ in 0..<200 where recorder.counts.written < 1_000 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(recorder.counts.written == 1_000)
        #expect(store.calls.withLock { $0 } == [1_000])
    }

    @Test("A store that keeps failing is retried with a growing wait, not every pass interval")
    func failuresBackOff() async throws {
        let store = CountingStore(failing: true)
        let recorder = PredictionRecorder(store: store, logger: Logger(label: "test"))
        record(recorder, count: 5)
        recorder.start()
        try await Task.sleep(for: .seconds(1))
        recorder.flush(deadline: .now)
        let attempts = store.calls.withLock { $0.count }
        // 5, 10, 20, 40, 80 ms, then every 100 ms: about 13 in a second; every 5 ms would be about 200.
        #expect(attempts >= 3 && attempts <= 30, "\(attempts) attempts in 1 s")
        #expect(recorder.counts.pending == 5 && recorder.counts.dropped == 0)
    }
}
