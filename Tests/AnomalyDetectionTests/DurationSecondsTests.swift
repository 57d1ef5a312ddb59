import Testing
import AnomalyDetection

@Suite("Duration in seconds")
struct DurationSecondsTests {
    @Test func wholeAndFractionalSecondsAddUp() {
        #expect(Duration.milliseconds(1_500).inSeconds == 1.5)
        #expect(Duration.seconds(60).inSeconds == 60)
        #expect(Duration.microseconds(250).inSeconds == 0.000_25)
        #expect(Duration.zero.inSeconds == 0)
    }
}
