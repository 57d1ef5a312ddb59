import Testing
@testable import anomaly_loadtest

@Suite("Driver plans: splitting the load over threads")
struct DriverPlanTests {
    private func load(connections: Int = 5, threads: Int = 2, fitRatio: Double = 0.1) -> LoadTestConfiguration.Load {
        LoadTestConfiguration.Load(mode: .predict, connections: connections, threads: threads, duration: 2, requests: 11, rate: 100, timeout: 1, fitRatio: fitRatio)
    }

    @Test func connectionsBudgetAndRateSplitInProportion() throws {
        let plans = DriverPlan.split(load(), start: 0)
        #expect(plans.map(\.index) == [0, 1])
        #expect(plans.map { $0.predictConnections + $0.fitConnections } == [3, 2])
        #expect(plans.map(\.fitConnections) == [1, 1])
        #expect(plans.map(\.requestBudget) == [6, 5])
        let rates = try plans.map { try #require($0.ratePerSecond) }
        #expect(abs(rates[0] - 60) < 1e-9 && abs(rates[1] - 40) < 1e-9, "\(rates)")
        #expect(plans.allSatisfy { $0.deadline == 2_000_000_000 && $0.timeout == 1_000_000_000 && $0.fitRatio == 0.1 })
    }

    @Test func onlyPredictsOrOnlyFits() {
        #expect(DriverPlan.split(load(fitRatio: 0), start: 0).map(\.fitConnections) == [0, 0])
        let fitsOnly = DriverPlan.split(load(fitRatio: 1), start: 0)
        #expect(fitsOnly.map(\.fitConnections) == [3, 2])
        #expect(fitsOnly.map(\.predictConnections) == [0, 0])
    }
}
