import AnomalyDetection
import Foundation
import Testing
@testable import Monitoring

@Suite("Dashboard figures")
struct DashboardStoreTests {
    private func minute(_ start: Int64, _ requests: Int, _ anomalies: Int) -> MinuteStatistics {
        MinuteStatistics(minute: start, kind: "predict", requests: requests, anomalies: anomalies, requests_per_second: Double(requests) / 60, p95_ms: nil)
    }

    @Test func lastSixtySecondsBlendsTheCurrentAndThePreviousMinute() {
        let minutes = [minute(600, 50, 1), minute(660, 120, 6), minute(720, 30, 2)]
        // 15 s into minute 720: all of it, plus three quarters of minute 660.
        let recent = DashboardStore.lastSixtySeconds(minutes, now: 735)
        #expect(recent.requests == 30 + 90 && recent.anomalies == 2 + 5)
        // Right at the start of a minute the previous one counts whole; nothing older ever does.
        #expect(DashboardStore.lastSixtySeconds(minutes, now: 720).requests == 150)
        // Only the current minute so far (a fresh start): it is counted, not dropped.
        #expect(DashboardStore.lastSixtySeconds([minute(720, 30, 2)], now: 735).requests == 30)
        // Traffic that stopped minutes ago is not "last 60 s".
        #expect(DashboardStore.lastSixtySeconds(minutes, now: 900).requests == 0)
    }

    private func bigEndian<Integer: FixedWidthInteger>(_ value: Integer) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// A batch row as Postgres sends it: the records in `PredictionLogFormat`, as bytea hex text.
    private func batch(version: Int, recordedAt: String, _ timestamps: [Int64]) -> [String?] {
        var hex = #"\x"#
        for timestamp in timestamps {
            var fields = bigEndian(UInt64(bitPattern: timestamp))
            fields += bigEndian((Double(timestamp) * 10).bitPattern)
            fields.append(timestamp % 2 == 0 ? 1 : 0)
            fields += bigEndian(Double.infinity.bitPattern)
            fields += bigEndian(Float(3).bitPattern)
            hex += fields.map { String(format: "%02x", $0) }.joined()
        }
        return [String(version), hex, recordedAt]
    }

    @Test("Recent predictions: newest batch first, newest first within it, cut at the limit")
    func recentPredictionsDecodeTheNewestRecords() throws {
        let result = PostgresResult(columns: ["version", "records", "recorded_at"], rows: [
            batch(version: 2, recordedAt: "T2", [7, 8]),
            batch(version: 1, recordedAt: "T1", [4, 5, 6]),
        ], affectedRows: 0)
        let recent = try DashboardStore.recentPredictions(result, limit: 4)
        #expect(recent.map(\.timestamp) == [8, 7, 6, 5])
        #expect(recent.map(\.version) == [2, 2, 1, 1] && recent.map(\.recorded_at) == ["T2", "T2", "T1", "T1"])
        #expect(recent.map(\.value) == [80, 70, 60, 50] && recent.map(\.anomaly) == [true, false, true, false])
        // JSON has no infinity: the score is saturated.
        #expect(recent.allSatisfy { $0.z_score == .greatestFiniteMagnitude })
        #expect(try DashboardStore.recentPredictions(result, limit: 10).count == 5)
        #expect(try DashboardStore.recentPredictions(result, limit: 0).isEmpty)
    }
}
