import Testing
@testable import AnomalyDetection

@Suite("Prediction-log columns")
struct PredictionColumnsTests {
    private func record(_ series: String, _ version: Int, _ timestamp: Int64, anomaly: Bool = false) -> PredictionRecord {
        PredictionRecord(seriesID: series, version: version, timestamp: timestamp, value: Double(timestamp) / 2,
                         anomaly: anomaly, zScore: Double(timestamp) / 4, latencyMicroseconds: Float(timestamp))
    }

    /// The timestamps of each row, read back from its bytes.
    private func rowTimestamps(_ columns: PredictionColumns) -> [[Int64]] {
        columns.records.map { PredictionLogFormat.decode($0).map(\.timestamp) }
    }

    @Test("Groups by series and version in order of first appearance, records in arrival order")
    func groupsInterleavedRecords() {
        let records = [
            record("a", 1, 10), record("a", 1, 11, anomaly: true), record("b", 1, 20), record("a", 2, 30),
            record("a", 1, 12), record("b", 1, 21, anomaly: true), record("b", 1, 22, anomaly: true),
        ]
        let columns = PredictionColumns(records)
        #expect(columns.seriesIDs == ["a", "b", "a"])
        #expect(columns.versions == [1, 1, 2])
        #expect(columns.counts == [3, 3, 1])
        #expect(columns.anomalyCounts == [1, 2, 0])
        #expect(rowTimestamps(columns) == [[10, 11, 12], [20, 21, 22], [30]])
        let entries = columns.records.flatMap(PredictionLogFormat.decode)
        #expect(entries.map(\.anomaly) == [false, true, false, false, true, true, false])
        #expect(entries.map(\.value) == entries.map { Double($0.timestamp) / 2 })
        #expect(entries.map(\.zScore) == entries.map { Double($0.timestamp) / 4 })
        #expect(entries.map(\.latencyMicroseconds) == entries.map { Float($0.timestamp) })
        #expect(columns.records.map(\.count) == columns.counts.map { Int($0) * PredictionLogFormat.recordSize })
    }

    @Test func oneSeriesIsOneGroup() {
        let columns = PredictionColumns((1...250).map { record("only", 3, Int64($0)) })
        #expect(columns.seriesIDs == ["only"] && columns.counts == [250])
        #expect(rowTimestamps(columns) == [Array(1...250)])
    }

    @Test("A series with more records than a row holds is cut into rows, in arrival order")
    func longRunsAreCutIntoRows() {
        var records = (1...600).map { record("a", 1, Int64($0), anomaly: $0 % 100 == 0) }
        records.insert(contentsOf: [record("b", 2, 1001), record("b", 2, 1002)], at: 300)
        let columns = PredictionColumns(records[...], rowLimit: 250)
        #expect(columns.seriesIDs == ["a", "a", "a", "b"])
        #expect(columns.versions == [1, 1, 1, 2])
        #expect(columns.counts == [250, 250, 100, 2])
        #expect(columns.anomalyCounts == [2, 3, 1, 0])
        #expect(rowTimestamps(columns) == [Array(1...250), Array(251...500), Array(501...600), [1001, 1002]])
        let exact = PredictionColumns((1...500).map { record("a", 1, Int64($0)) }, rowLimit: 250)
        #expect(exact.counts == [250, 250])
    }

    @Test func emptyBatchHasNoColumns() {
        let columns = PredictionColumns([])
        #expect(columns.seriesIDs.isEmpty && columns.records.isEmpty)
    }

    @Test("Rows as binary COPY tuples: 5 fields, each its length then its value")
    func copyTuplesFollowPostgresBinaryFormat() {
        let columns = PredictionColumns([record("ab", 3, 7, anomaly: true)])
        let tuples = columns.copyTuples()
        let size = UInt8(PredictionLogFormat.recordSize)
        let expected: [UInt8] = [0, 5,
                                 0, 0, 0, 2, 97, 98,
                                 0, 0, 0, 4, 0, 0, 0, 3,
                                 0, 0, 0, 4, 0, 0, 0, 1,
                                 0, 0, 0, 4, 0, 0, 0, 1,
                                 0, 0, 0, size] + columns.records[0]
        #expect(tuples == expected)
        #expect(PredictionColumns.copyHeader.count == 19 && PredictionColumns.copyHeader.prefix(7) == Array("PGCOPY\n".utf8)[...])
        #expect(PredictionColumns([]).copyTuples().isEmpty)
    }
}
