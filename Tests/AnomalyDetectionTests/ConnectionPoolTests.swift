import Foundation
import Synchronization
import Testing
@testable import AnomalyDetection

/// The bounded pool behind Postgres and Redis: at most `capacity` connections, reused, an unhealthy one
/// replaced, a busy pool answered with `unavailable` after its wait.
@Suite("Connection pool")
struct ConnectionPoolTests {
    final class FakeConnection: @unchecked Sendable {
        let number: Int
        var healthy = true

        init(number: Int) {
            self.number = number
        }
    }

    struct Busy: Error {}
    struct CannotConnect: Error {}

    /// A count shared with the pool's factory and the test's threads.
    final class Counter: Sendable {
        private let state = Mutex((value: 0, most: 0))

        /// Adds `step` and returns the new value; remembers the largest value reached.
        @discardableResult
        func add(_ step: Int = 1) -> Int {
            state.withLock { state in
                state.value += step
                state.most = max(state.most, state.value)
                return state.value
            }
        }

        var value: Int { state.withLock { $0.value } }
        var most: Int { state.withLock { $0.most } }
    }

    /// A pool of fake connections, numbered in the order made.
    static func pool(capacity: Int, wait: TimeInterval = 5, made: Counter, failing: Bool = false) -> ConnectionPool<FakeConnection> {
        ConnectionPool(
            capacity: capacity,
            waitTimeout: wait,
            makeConnection: {
                if failing { throw CannotConnect() }
                return FakeConnection(number: made.add())
            },
            isHealthy: { $0.healthy },
            unavailable: { _ in Busy() }
        )
    }

    @Test func aConnectionIsReusedRatherThanMadeAgain() throws {
        let made = Counter()
        let pool = Self.pool(capacity: 4, made: made)
        let numbers = try (0..<10).map { _ in try pool.withConnection { $0.number } }
        #expect(numbers == Array(repeating: 1, count: 10))
        #expect(made.value == 1)
    }

    @Test func anUnhealthyConnectionIsDroppedAndTheNextCallerGetsAFreshOne() throws {
        let made = Counter()
        let pool = Self.pool(capacity: 1, made: made)
        try pool.withConnection { $0.healthy = false }
        // With capacity 1, the dropped connection must also have freed its place, or this would wait and fail.
        #expect(try pool.withConnection { $0.number } == 2)
        #expect(try pool.withConnection { $0.number } == 2)
    }

    @Test func neverMoreThanCapacityAtOnceAndABusyPoolSaysSoAfterItsWait() throws {
        let made = Counter()
        let pool = Self.pool(capacity: 3, wait: 0.2, made: made)
        let inUse = Counter()
        let release = DispatchSemaphore(value: 0)
        let holding = DispatchGroup()
        for _ in 0..<3 {
            holding.enter()
            Thread.detachNewThread {
                try? pool.withConnection { _ in
                    inUse.add()
                    holding.leave()
                    release.wait()
                    inUse.add(-1)
                }
            }
        }
        holding.wait()
        let started = Date()
        #expect(throws: Busy.self) { try pool.withConnection { _ in } }
        #expect(Date().timeIntervalSince(started) >= 0.19, "a busy pool answers after its wait, not at once")
        for _ in 0..<3 { release.signal() }
        // Once the holders are done, the pool serves again, from the connections it has.
        var served = false
        for _ in 0..<100 where !served {
            served = (try? pool.withConnection { _ in true }) ?? false
            if !served { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(served)
        #expect(inUse.most == 3 && made.value == 3)
    }

    @Test func aFailedConnectFreesItsPlace() {
        let made = Counter()
        let pool = Self.pool(capacity: 1, wait: 0.1, made: made, failing: true)
        // Each attempt fails to connect; none may leave the pool counting a connection it never got.
        for _ in 0..<3 {
            #expect(throws: CannotConnect.self) { try pool.withConnection { _ in } }
        }
    }

    @Test func drainingClosesIdleConnectionsSoTheNextCallerReconnects() throws {
        let made = Counter()
        let pool = Self.pool(capacity: 2, made: made)
        #expect(try pool.withConnection { $0.number } == 1)
        pool.drainIdle()
        #expect(try pool.withConnection { $0.number } == 2)
    }
}
