import Testing
@testable import AnomalyDetection

@Suite("Prediction record chunks")
struct PredictionRecordChunksTests {
    private func records(_ timestamps: ClosedRange<Int64>, series: String = "s") -> [PredictionRecord] {
        timestamps.map { PredictionRecord(seriesID: series, version: 1, timestamp: $0, value: Double($0), anomaly: false, zScore: 0, latencyMicroseconds: 1) }
    }

    @Test("Chunks keep their records in the order appended, counted over all chunks; empty ones add nothing")
    func orderAndCount() {
        var chunks = PredictionRecordChunks(records(1...3))
        chunks.append([])
        chunks.append(records(4...4))
        var other = PredictionRecordChunks()
        other.append(records(5...7, series: "t"))
        chunks.append(contentsOf: other)
        #expect(chunks.count == 7)
        #expect(!chunks.isEmpty)
        #expect(chunks.map(\.timestamp) == Array(1...7))
        #expect(chunks.array == records(1...4) + records(5...7, series: "t"))
    }

    @Test("Nothing appended is empty, as an array too")
    func empty() {
        var chunks = PredictionRecordChunks()
        chunks.append([])
        #expect(chunks.isEmpty && chunks.count == 0)
        #expect(chunks.array.isEmpty)
        #expect(Array(chunks).isEmpty)
    }
}
