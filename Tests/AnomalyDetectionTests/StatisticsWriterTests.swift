import Foundation
import Logging
import Synchronization
import Testing
@testable import AnomalyDetection

@Suite("Request statistics writer", .serialized)
struct StatisticsWriterTests {
    /// A store whose writes wait until the test lets them go on, and that keeps the counts it was given.
    final class HeldStore: StatisticsOnlyStore {
        let recorded = Mutex<[Int]>([])
        let entered = Atomic<Int>(0)
        let released = Atomic<Bool>(false)

        func record(_ statistics: RequestStatistics, writeID: UUID) throws {
            entered.add(1, ordering: .relaxed)
            while !released.load(ordering: .relaxed) { Thread.sleep(forTimeInterval: 0.002) }
            recorded.withLock { $0.append(statistics.count) }
        }
    }

    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    @Test("Flush waits for a write the thread has under way, then writes what came after it")
    func flushWaitsForAWriteUnderWay() async throws {
        let store = HeldStore()
        let writer = StatisticsWriter(kind: "fit", store: store, logger: Logger(label: "test"))
        for _ in 0..<3 { writer.add(latencyMicroseconds: 100) }
        writer.start(intervalSeconds: 0.01)
        for _ in 0..<300 where store.entered.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        writer.add(latencyMicroseconds: 100)
        let flushed = Flag()
        let flusher = Thread {
            writer.flush(deadline: .now + .seconds(5))
            flushed.value.store(true, ordering: .releasing)
        }
        flusher.start()
        try await Task.sleep(for: .milliseconds(100))
        let returnedEarly = flushed.value.load(ordering: .acquiring)
        #expect(!returnedEarly, "flush returned while a write was under way")
        #expect(store.entered.load(ordering: .relaxed) == 1, "flush started a write of its own beside the one under way")
        store.released.store(true, ordering: .relaxed)
        for _ in 0..<300 where !flushed.value.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
        let returned = flushed.value.load(ordering: .acquiring)
        #expect(returned)
        #expect(store.recorded.withLock { $0 } == [3, 1])
    }

    /// A store that applies each write id once, as Postgres does (migration 7), and can fail a write before or
    /// after committing it.
    final class OnceStore: StatisticsOnlyStore {
        struct State {
            var applied: Set<UUID> = []
            var counted = 0
            var calls = 0
            var failBeforeCommitting = 0
            var loseAnswers = 0
        }
        let state = Mutex(State())

        func record(_ statistics: RequestStatistics, writeID: UUID) throws {
            try state.withLock { state in
                state.calls += 1
                if state.failBeforeCommitting > 0 {
                    state.failBeforeCommitting -= 1
                    throw PostgresError(kind: .unavailable, message: "the test store is down")
                }
                if state.applied.insert(writeID).inserted { state.counted += statistics.count }
                if state.loseAnswers > 0 {
                    state.loseAnswers -= 1
                    throw PostgresError(kind: .unavailable, message: "the test store lost the answer")
                }
            }
        }
    }

    @Test("A write whose answer was lost after it committed is sent again with its id, and counted once")
    func lostAnswerIsCountedOnce() {
        let store = OnceStore()
        store.state.withLock { $0.loseAnswers = 1 }
        let writer = StatisticsWriter(kind: "fit", store: store, logger: Logger(label: "test"))
        for _ in 0..<3 { writer.add(latencyMicroseconds: 100) }
        writer.flush(deadline: .now + .seconds(1))
        for _ in 0..<2 { writer.add(latencyMicroseconds: 100) }
        writer.flush(deadline: .now + .seconds(1))
        let state = store.state.withLock { $0 }
        #expect(state.counted == 5, "\(state.counted) requests counted for 5")
        #expect(state.calls == 3 && state.applied.count == 2)
    }

    @Test("A write that failed is sent again before anything newer, and nothing is lost")
    func failedWriteIsSentAgainFirst() {
        let store = OnceStore()
        store.state.withLock { $0.failBeforeCommitting = 2 }
        let writer = StatisticsWriter(kind: "fit", store: store, logger: Logger(label: "test"))
        for _ in 0..<3 { writer.add(latencyMicroseconds: 100) }
        writer.flush(deadline: .now + .seconds(1))
        writer.add(latencyMicroseconds: 100)
        writer.flush(deadline: .now + .seconds(1))
        #expect(store.state.withLock { $0.counted } == 0, "the failed write is tried again first, and fails again")
        writer.flush(deadline: .now + .seconds(1))
        let state = store.state.withLock { $0 }
        #expect(state.counted == 4 && state.applied.count == 2 && state.calls == 4, "\(state)")
    }

    @Test("Past its deadline, flush still makes its one write: the counts of what was committed are not dropped")
    func flushPastItsDeadlineStillWrites() {
        let store = HeldStore()
        store.released.store(true, ordering: .relaxed)
        let writer = StatisticsWriter(kind: "fit", store: store, logger: Logger(label: "test"))
        writer.add(latencyMicroseconds: 100)
        writer.flush(deadline: .now - .seconds(5))
        #expect(store.recorded.withLock { $0 } == [1])
    }

    @Test("A flush that waited past its deadline and its allowance for a write under way starts no other")
    func flushPastItsAllowanceWritesNothingMore() async throws {
        let store = HeldStore()
        let writer = StatisticsWriter(kind: "fit", store: store, logger: Logger(label: "test"))
        writer.add(latencyMicroseconds: 100)
        writer.start(intervalSeconds: 0.01)
        for _ in 0..<300 where store.entered.load(ordering: .relaxed) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        writer.add(latencyMicroseconds: 100)
        let flushed = Flag()
        let flusher = Thread {
            writer.flush(deadline: .now - .seconds(5))
            flushed.value.store(true, ordering: .releasing)
        }
        flusher.start()
        try await Task.sleep(for: StatisticsWriter.lastWriteAllowance + .milliseconds(300))
        store.released.store(true, ordering: .relaxed)
        for _ in 0..<300 where !flushed.value.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
        let returned = flushed.value.load(ordering: .acquiring)
        let entered = store.entered.load(ordering: .relaxed)
        #expect(returned)
        #expect(entered == 1 && store.recorded.withLock { $0 } == [1])
    }
}
