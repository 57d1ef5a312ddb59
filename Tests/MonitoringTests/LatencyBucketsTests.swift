import AnomalyDetection
import Testing

@Suite("Latency buckets and request statistics")
struct LatencyBucketsTests {
    @Test func eachLatencyFallsInTheBucketThatBoundsIt() {
        for microseconds in [1.5, 3.0, 10, 99, 1_000, 123_456, 5e6] {
            let index = LatencyBuckets.index(microseconds: microseconds)
            #expect(microseconds <= LatencyBuckets.upperBound(index))
            #expect(index == 0 || microseconds > LatencyBuckets.upperBound(index - 1))
        }
    }

    @Test func percentilesAreWithinOneBucket() {
        var buckets = LatencyBuckets()
        for value in 1...1000 { buckets.record(microseconds: Double(value)) }
        let p95 = buckets.percentile(0.95)!
        #expect(p95 >= 950 && p95 <= 950 * 1.19)
        #expect(LatencyBuckets().percentile(0.95) == nil)
    }

    @Test func statisticsCountRequestsAnomaliesAndSeries() {
        let records = (0..<10).map { (index: Int) -> PredictionRecord in
            let series = index % 2 == 0 ? "a" : "b"
            return PredictionRecord(seriesID: series, version: 1, timestamp: Int64(index), value: 1, anomaly: index % 3 == 0, zScore: 0, latencyMicroseconds: Float(index * 10))
        }
        var together = RequestStatistics(kind: "predict")
        records.forEach { together.add($0) }
        #expect(together.count == 10 && together.anomalies == 4)
        #expect(together.series["a"]?.predictions == 5 && together.series["a"]?.anomalies == 2)
        #expect(together.series["b"]?.lastAnomalyTimestamp == 9)
    }

    @Test("Adding a batch at once counts what adding its records one by one counts, runs and interleaving alike")
    func batchesCountAsSingleRecords() {
        let series = ["a", "a", "a", "b", "a", "c", "c", "b", "b", "a", "a"]
        let records = series.enumerated().map { index, seriesID in
            PredictionRecord(seriesID: seriesID, version: 1, timestamp: Int64(100 + index), value: 1, anomaly: index % 4 == 1, zScore: 0, latencyMicroseconds: Float(index * 7))
        }
        var oneByOne = RequestStatistics(kind: "predict")
        records.forEach { oneByOne.add($0) }
        var batched = RequestStatistics(kind: "predict")
        batched.add(records[..<5])
        batched.add(records[5...])
        #expect(batched == oneByOne)
        #expect(batched.series["a"]?.predictions == 6 && batched.series["a"]?.anomalies == 2)
        #expect(batched.series["a"]?.lastAnomalyTimestamp == 109)
        #expect(batched.series["c"]?.predictions == 2 && batched.series["c"]?.anomalies == 1)
        #expect(batched.series["b"]?.lastAnomalyTimestamp == nil)
    }
}
