import Foundation
import Logging
import Synchronization
import Testing
@testable import AnomalyDetection

/// The retention loop against a store that holds a count of expired batches (or refuses).
@Suite("Prediction-log retention", .serialized)
struct PredictionLogRetentionTests {
    final class ExpiringStore: PredictionLogStore {
        /// Expired batches still in the log.
        let expired: Mutex<Int>
        /// The `limit` of each call, failed ones included.
        let calls = Mutex<[Int]>([])
        let hoursSeen = Mutex<Set<Int>>([])
        /// Calls that throw, counted from the first.
        let failingCalls: Set<Int>

        init(expired: Int, failingCalls: Set<Int> = []) {
            self.expired = Mutex(expired)
            self.failingCalls = failingCalls
        }

        func prunePredictionLog(olderThanHours hours: Int, limit: Int) throws -> Int {
            let call = calls.withLock { calls -> Int in
                calls.append(limit)
                return calls.count - 1
            }
            hoursSeen.withLock { _ = $0.insert(hours) }
            if failingCalls.contains(call) { throw PostgresError(kind: .unavailable, message: "refused by the test store") }
            return expired.withLock { expired in
                let deleted = min(expired, limit)
                expired -= deleted
                return deleted
            }
        }
    }

    private func retention(_ store: ExpiringStore, chunk: Int = 100, interval: Duration = .seconds(60)) -> PredictionLogRetention {
        var configuration = PredictionLogRetention.Configuration(hours: 24)
        configuration.chunk = chunk
        configuration.interval = interval
        return PredictionLogRetention(store: store, configuration: configuration, logger: Logger(label: "test"))
    }

    @Test("A pass deletes chunk after chunk until one comes back short, and counts what it deleted")
    func aPassDeletesEverythingExpiredInChunks() {
        let store = ExpiringStore(expired: 250)
        let pruner = retention(store)
        #expect(pruner.pruneExpired() == 250)
        // 100, 100, 50: the short chunk ends the pass; a fourth call would find nothing.
        #expect(store.calls.withLock { $0 } == [100, 100, 100])
        #expect(store.hoursSeen.withLock { $0 } == [24])
        #expect(pruner.prunedBatches == 250)
        #expect(pruner.pruneExpired() == 0)
        #expect(store.calls.withLock { $0.count } == 4)
    }

    @Test("A failing chunk ends the pass with what was deleted so far; the next pass goes on")
    func failureEndsThePass() {
        let store = ExpiringStore(expired: 250, failingCalls: [1])
        let pruner = retention(store)
        #expect(pruner.pruneExpired() == 100)
        #expect(pruner.pruneExpired() == 150)
        #expect(pruner.prunedBatches == 250)
        #expect(store.expired.withLock { $0 } == 0)
    }

    @Test("The thread prunes every interval and stops when told, without waiting out its interval")
    func theThreadRunsEveryIntervalAndStops() async throws {
        let store = ExpiringStore(expired: 0)
        let pruner = retention(store, interval: .milliseconds(50))
        pruner.start()
        try await Task.sleep(for: .milliseconds(600))
        let running = store.calls.withLock { $0.count }
        // About 12 passes in 600 ms; the first one interval after start, not at start.
        #expect(running >= 4 && running <= 13, "\(running) passes")
        pruner.stop()
        try await Task.sleep(for: .milliseconds(300))
        let stopped = store.calls.withLock { $0.count }
        try await Task.sleep(for: .milliseconds(300))
        #expect(store.calls.withLock { $0.count } == stopped, "passes after stop")

        let slow = ExpiringStore(expired: 0)
        let hourly = retention(slow, interval: .seconds(3_600))
        hourly.start()
        try await Task.sleep(for: .milliseconds(200))
        #expect(slow.calls.withLock { $0.count } == 0, "pruned before its first interval")
        hourly.stop()
    }
}
