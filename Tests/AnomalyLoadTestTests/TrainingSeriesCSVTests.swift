import Testing
@testable import anomaly_loadtest

@Suite("Training series CSV")
struct TrainingSeriesCSVTests {
    @Test func parsesCRLFQuotesBlankLinesAndExponents() throws {
        let series = try TrainingSeries.parseCSV("timestamp,value\r\n1,1.5\n2,\"2.5\"\n\n3,3e0\n")
        #expect(series.timestamps == [1, 2, 3])
        #expect(series.values == [1.5, 2.5, 3])
        #expect(abs(series.mean - 7.0 / 3) < 1e-12)
        #expect(abs(series.standardDeviation - (3.5 / 9).squareRoot()) < 1e-12, "std \(series.standardDeviation)")
    }

    @Test("bad files are rejected with a message naming the problem and line", arguments: [
        ("time,value\n1,2\n", "line 1: expected the header"),
        ("timestamp,value\n1,2\nx,3\n", "line 3"),
        ("timestamp,value\r\n1,2\r\nx,3\r\n", "line 3"),
        ("timestamp,value\n\n1,2\nx,3\n", "line 4"),
        ("timestamp,value\n1,2\n2,nan\n3,1\n", "line 3: value 'nan' is not a finite number"),
        ("timestamp,value\n1,2,3\n", "line 2: expected 2 fields"),
        ("timestamp,value\n1,2\n", "at least 3"),
        ("", "empty"),
    ])
    func rejects(_ text: String, fragment: String) throws {
        let error = try #require(throws: LoadTestError.self) { try TrainingSeries.parseCSV(text) }
        #expect(error.description.contains(fragment), "message '\(error.description)' lacks '\(fragment)'")
    }

    @Test func generatedSeriesIsANoisySineAround50() {
        let series = TrainingSeries.generated(points: 1000, startTimestamp: 0, seed: 1)
        #expect(series.values.count == 1000)
        #expect(series.timestamps.first == 0 && series.timestamps.last == 999 * 60)
        #expect(abs(series.mean - 50) < 0.5, "mean \(series.mean)")
        #expect(abs(series.standardDeviation - 4.9) < 0.4, "std \(series.standardDeviation)")
    }
}
