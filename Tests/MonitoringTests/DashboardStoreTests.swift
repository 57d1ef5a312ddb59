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
}
