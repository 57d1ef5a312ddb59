import Testing
@testable import anomaly_loadtest

@Suite("Rate pacer")
struct RatePacerTests {
    @Test func slotsFollowTheIntervalFromStart() {
        // 200/s: one slot every 5 ms.
        var pacer = RatePacer(ratePerSecond: 200, start: 1_000_000_000)
        #expect(!pacer.isSlotDue(now: 999_999_999))
        #expect(pacer.isSlotDue(now: 1_000_000_000))
        pacer.consumeSlot(now: 1_000_000_000)
        #expect(!pacer.isSlotDue(now: 1_004_000_000))
        #expect(pacer.nanosecondsUntilNextSlot(now: 1_004_000_000) == 1_000_000)
        #expect(pacer.isSlotDue(now: 1_005_000_000))
        #expect(pacer.nanosecondsUntilNextSlot(now: 1_005_000_000) == 0)
    }

    @Test func coarseWakeUpsStillReachTheRate() {
        var now: UInt64 = 1_000_000_000
        var pacer = RatePacer(ratePerSecond: 200, start: now)
        var sent = 0
        while now < 3_000_000_000 {
            while pacer.isSlotDue(now: now) {
                pacer.consumeSlot(now: now)
                sent += 1
            }
            now += 3_000_000
        }
        #expect(abs(sent - 400) <= 1, "200/s for 2 s with 3 ms wake-ups sent \(sent)")
    }

    @Test func backlogAfterAStallIsCappedAt100Milliseconds() {
        var pacer = RatePacer(ratePerSecond: 1000, start: 0)
        var burst = 0
        while pacer.isSlotDue(now: 5_000_000_000) {
            pacer.consumeSlot(now: 5_000_000_000)
            burst += 1
        }
        #expect(burst == 101)
    }
}
