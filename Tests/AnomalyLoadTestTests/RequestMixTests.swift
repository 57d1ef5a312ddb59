import Testing
@testable import anomaly_loadtest

@Suite("Request mix")
struct RequestMixTests {
    private func kinds(fitRatio: Double, count: Int) -> [RequestKind] {
        var mix = RequestMix(fitRatio: fitRatio)
        var kinds: [RequestKind] = []
        for _ in 0..<count {
            kinds.append(mix.nextKind)
            mix.advance()
        }
        return kinds
    }

    @Test func tenPercentIsEveryTenthRequest() {
        let kinds = kinds(fitRatio: 0.1, count: 100)
        #expect(kinds.filter { $0 == .fit }.count == 10)
        #expect(kinds[0] == .predict)
        #expect(kinds[9] == .fit)
        #expect(kinds.indices.filter { kinds[$0] == .fit } == Array(stride(from: 9, to: 100, by: 10)))
    }

    @Test func ratioOneIsOnlyFits() {
        #expect(RequestMix(fitRatio: 1).nextKind == .fit)
        #expect(kinds(fitRatio: 1, count: 20).allSatisfy { $0 == .fit })
    }

    @Test func ratioZeroIsOnlyPredicts() {
        #expect(kinds(fitRatio: 0, count: 50).allSatisfy { $0 == .predict })
    }

    @Test func aThirdIsExactDespiteRounding() {
        #expect(kinds(fitRatio: 1.0 / 3, count: 300).filter { $0 == .fit }.count == 100)
    }
}
