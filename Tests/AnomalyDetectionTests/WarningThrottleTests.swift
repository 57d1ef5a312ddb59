import Testing
@testable import AnomalyDetection

@Suite("Warning throttle")
struct WarningThrottleTests {
    @Test("The first failure is logged, repeats within the interval are counted, the next one after it says how many")
    func logsOncePerInterval() {
        var throttle = WarningThrottle(interval: .seconds(5))
        let start = ContinuousClock.now
        #expect(throttle.admit(at: start) == 0)
        #expect(throttle.admit(at: start + .seconds(1)) == nil)
        #expect(throttle.admit(at: start + .seconds(4)) == nil)
        #expect(throttle.admit(at: start + .seconds(5)) == 2)
        #expect(throttle.admit(at: start + .seconds(6)) == nil)
    }

    @Test("After a success the next failure is logged at once")
    func resetLogsTheNextFailure() {
        var throttle = WarningThrottle(interval: .seconds(5))
        let start = ContinuousClock.now
        #expect(throttle.admit(at: start) == 0)
        #expect(throttle.admit(at: start + .seconds(1)) == nil)
        throttle.reset()
        #expect(throttle.admit(at: start + .seconds(2)) == 0)
    }
}
