import Testing
@testable import anomaly_loadtest

@Suite("Report formatting and the progress line")
struct FormattingTests {
    @Test func fixedRoundsAndPads() {
        #expect(Formatting.fixed(3.14159, digits: 3) == "3.142")
        #expect(Formatting.fixed(2, digits: 1, width: 5) == "  2.0")
        #expect(Formatting.fixed(0.05, digits: 1) == "0.1")
    }

    @Test func progressLine() {
        #expect(ProgressLine.format(elapsed: 3, requests: 10, rate: 9.6, errors: 0) == "[  3.0 s] 10 requests, 10 req/s, 0 errors")
    }
}
