import Foundation
import Logging
import Synchronization
import Testing
@testable import AnomalyDetection

/// The prediction-log writer against a log that keeps what it is given (or refuses it) in memory.
@Suite("Prediction-log writer", .serialized)
struct PredictionRecorderTests {
    /// A log with the writer's transaction semantics: appended records become durable only on commit, a failed
    /// append or `abandon` loses the open write, and a commit may fail before committing or after (its answer lost).
    final class MemoryLog: PredictionLogWriter {
        struct State {
            var open: [Int64] = []
            var openWrite: UInt64?
            var nextWrite: UInt64 = 1
            var committed: [Int64] = []
            var committedWrites: Set<UInt64> = []
            var appends: [Int] = []
            var commits = 0
            var abandons = 0
            var lookups = 0
            /// Calls to fail, counted down: appends and commits alike (a commit fails before committing).
            var failNext = 0
            var failAlways = false
            /// Commits that fail before committing, counted down.
            var failCommits = 0
            /// Appends that fail, by their number (the first is 1).
            var failingAppends: Set<Int> = []
            /// Commits that commit and then fail, as when the server's answer is lost, counted down.
            var loseCommitAnswers = 0
            /// Lookups that answer "still open on the server", counted down.
            var unsettledLookups = 0
        }

        let state = Mutex(State())

        init(failNext: Int = 0, failAlways: Bool = false, failCommits: Int = 0, loseCommitAnswers: Int = 0, unsettledLookups: Int = 0) {
            state.withLock {
                $0.failNext = failNext
                $0.failCommits = failCommits
                $0.failAlways = failAlways
                $0.loseCommitAnswers = loseCommitAnswers
                $0.unsettledLookups = unsettledLookups
            }
        }

        private func fails(_ state: inout State) -> Bool {
            if state.failAlways { return true }
            guard state.failNext > 0 else { return false }
            state.failNext -= 1
            return true
        }

        func append(_ predictions: ArraySlice<PredictionRecord>) throws -> PredictionLogWriteID {
            try state.withLock { state in
                state.appends.append(predictions.count)
                if fails(&state) || state.failingAppends.contains(state.appends.count) {
                    throw PostgresError(kind: .unavailable, message: "refused by the test log")
                }
                if state.openWrite == nil {
                    state.openWrite = state.nextWrite
                    state.nextWrite += 1
                }
                state.open += predictions.map(\.timestamp)
                return PredictionLogWriteID(state.openWrite!)
            }
        }

        func commit() throws {
            try state.withLock { state in
                state.commits += 1
                if fails(&state) { throw PostgresError(kind: .unavailable, message: "refused by the test log") }
                if state.failCommits > 0 {
                    state.failCommits -= 1
                    throw PostgresError(kind: .unavailable, message: "the test log lost the connection before committing")
                }
                state.committed += state.open
                state.open = []
                if let write = state.openWrite { state.committedWrites.insert(write) }
                state.openWrite = nil
                if state.loseCommitAnswers > 0 {
                    state.loseCommitAnswers -= 1
                    throw PostgresError(kind: .unavailable, message: "the test log lost the commit's answer")
                }
            }
        }

        func abandon() {
            state.withLock { state in
                state.abandons += 1
                state.open = []
                state.openWrite = nil
            }
        }

        func isCommitted(_ write: PredictionLogWriteID) throws -> Bool? {
            try state.withLock { state in
                state.lookups += 1
                if state.failAlways { throw PostgresError(kind: .unavailable, message: "refused by the test log") }
                if state.unsettledLookups > 0 {
                    state.unsettledLookups -= 1
                    return nil
                }
                return state.committedWrites.contains(write.rawValue)
            }
        }
    }

    final class StatisticsSink: StatisticsOnlyStore {
        let predictions = Mutex(0)
        func record(_ statistics: RequestStatistics, writeID: UUID) throws { predictions.withLock { $0 += statistics.count } }
    }

    private func record(_ recorder: PredictionRecorder, _ timestamps: Range<Int>) {
        for index in timestamps {
            recorder.record(PredictionRecord(seriesID: index % 3 == 0 ? "a" : "b", version: 1, timestamp: Int64(index), value: 1,
                                             anomaly: false, zScore: 0, latencyMicroseconds: 10))
        }
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<300 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    @Test("What was recorded since the last pass goes to the log in one append, committed once traffic pauses")
    func onePassIsOneAppendThenACommit() async throws {
        let log = MemoryLog()
        let statistics = StatisticsSink()
        let recorder = PredictionRecorder(log: log, statisticsStore: statistics, logger: Logger(label: "test"))
        record(recorder, 0..<1_000)
        recorder.start()
        try await waitUntil { recorder.counts.written == 1_000 }
        recorder.flush(deadline: .now + .seconds(2))
        #expect(recorder.counts.written == 1_000 && recorder.counts.pending == 0)
        let state = log.state.withLock { $0 }
        #expect(state.appends == [1_000])
        #expect(state.committed == Array(0..<1_000))
        // The statistics count committed predictions (written out by `flush`).
        #expect(statistics.predictions.withLock { $0 } == 1_000)
    }

    @Test("Under steady traffic a write stays open for the commit interval: many appends, few commits")
    func steadyTrafficCommitsOncePerInterval() async throws {
        let log = MemoryLog()
        var configuration = PredictionRecorder.Configuration()
        configuration.commitIntervalMilliseconds = 200
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), configuration: configuration, logger: Logger(label: "test"))
        recorder.start()
        // The producer is a thread of its own, as an event loop is: a task on the cooperative pool stalled behind
        // other suites' tests in a full run (11 appends in 0.8 s once, 9 commits for 40 appends in a CI run), and
        // each pass that finds nothing commits, as it should.
        let produced = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        let producer = Thread { [self] in
            let started = ContinuousClock.now
            var next = 0
            while ContinuousClock.now - started < .milliseconds(800) {
                record(recorder, next..<next + 10)
                next += 10
                Thread.sleep(forTimeInterval: 0.001)
            }
            produced.store(next, ordering: .releasing)
            done.signal()
        }
        producer.start()
        while done.wait(timeout: .now()) == .timedOut { try await Task.sleep(for: .milliseconds(10)) }
        let next = produced.load(ordering: .acquiring)
        let (appends, commits) = log.state.withLock { ($0.appends.count, $0.commits) }
        recorder.flush(deadline: .now + .seconds(2))
        // Passes every 5 ms over 0.8 s: about 160 appends (fewer on a slow machine); commits about every 200 ms,
        // plus one after any pass that found nothing. Committing every pass would make them about equal.
        #expect(appends >= 20, "\(appends) appends")
        #expect(commits >= 1 && commits * 2 <= appends, "\(commits) commits for \(appends) appends")
        #expect(log.state.withLock { $0.committed } == Array(0..<Int64(next)))
        #expect(recorder.counts.written == next)
    }

    @Test("A commit that fails before committing: once the log says so, its records are sent again, in order, once each")
    func failedCommitResendsTheOpenWrite() async throws {
        let log = MemoryLog(failCommits: 1)
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), logger: Logger(label: "test"))
        record(recorder, 0..<100)
        recorder.start()
        try await waitUntil { recorder.counts.written == 100 }
        record(recorder, 100..<150)
        try await waitUntil { recorder.counts.written == 150 }
        recorder.flush(deadline: .now + .seconds(2))
        let state = log.state.withLock { $0 }
        #expect(state.committed == Array(0..<150))
        #expect(state.abandons == 1 && state.lookups == 1 && state.appends.prefix(2) == [100, 100], "\(state)")
        #expect(recorder.counts.written == 150 && recorder.counts.dropped == 0)
    }

    @Test("A commit whose answer was lost is not sent again: the log says it was committed")
    func lostCommitAnswerIsNotSentTwice() async throws {
        let log = MemoryLog(loseCommitAnswers: 1)
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), logger: Logger(label: "test"))
        record(recorder, 0..<100)
        recorder.start()
        try await waitUntil { log.state.withLock { $0.lookups } == 1 }
        record(recorder, 100..<150)
        try await waitUntil { recorder.counts.written == 150 }
        recorder.flush(deadline: .now + .seconds(2))
        let state = log.state.withLock { $0 }
        #expect(state.committed == Array(0..<150), "each record once")
        #expect(state.appends.first == 100 && state.appends.reduce(0, +) == 150 && state.lookups == 1, "\(state)")
        #expect(recorder.counts.written == 150 && recorder.counts.pending == 0 && recorder.counts.dropped == 0)
    }

    @Test("While a write in doubt is still open on the server, nothing newer is sent, and the log is asked again")
    func writeStillOpenIsAskedAgain() async throws {
        let log = MemoryLog(loseCommitAnswers: 1, unsettledLookups: .max)
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), logger: Logger(label: "test"))
        record(recorder, 0..<100)
        recorder.start()
        try await waitUntil { log.state.withLock { $0.lookups } >= 2 }
        record(recorder, 100..<120)
        try await Task.sleep(for: .milliseconds(50))
        // Unsettled: the newer records wait, counted as pending with those in doubt.
        #expect(log.state.withLock { $0.appends } == [100])
        #expect(recorder.counts.written == 0 && recorder.counts.pending == 120)
        log.state.withLock { $0.unsettledLookups = 0 }
        try await waitUntil { recorder.counts.written == 120 }
        recorder.flush(deadline: .now + .seconds(2))
        let state = log.state.withLock { $0 }
        #expect(state.committed == Array(0..<120), "each record once, in order")
        #expect(state.appends.first == 100 && state.appends.reduce(0, +) == 120 && state.abandons == 1, "\(state)")
    }

    /// A log whose appends wait until the test lets them go on.
    final class HeldLog: PredictionLogWriter {
        let inner = MemoryLog()
        let entered = Atomic<Int>(0)
        let released = Atomic<Bool>(false)
        func append(_ predictions: ArraySlice<PredictionRecord>) throws -> PredictionLogWriteID {
            entered.add(1, ordering: .relaxed)
            while !released.load(ordering: .relaxed) { Thread.sleep(forTimeInterval: 0.002) }
            return try inner.append(predictions)
        }
        func commit() throws { try inner.commit() }
        func abandon() { inner.abandon() }
        func isCommitted(_ write: PredictionLogWriteID) throws -> Bool? { try inner.isCommitted(write) }
    }

    @Test("Records the writer is sending still count as pending until committed")
    func recordsInAPassArePending() async throws {
        let log = HeldLog()
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), logger: Logger(label: "test"))
        record(recorder, 0..<50)
        recorder.start()
        try await waitUntil { log.entered.load(ordering: .relaxed) == 1 }
        record(recorder, 50..<60)
        #expect(recorder.counts.pending == 60 && recorder.counts.written == 0)
        log.released.store(true, ordering: .relaxed)
        try await waitUntil { recorder.counts.written == 60 }
        recorder.flush(deadline: .now + .seconds(2))
        #expect(recorder.counts.pending == 0 && log.inner.state.withLock { $0.committed } == Array(0..<60))
    }

    @Test("A full buffer drops new records and counts them; the records it holds are written once Postgres is back")
    func fullBufferDropsAndCounts() async throws {
        let log = MemoryLog(failAlways: true)
        var configuration = PredictionRecorder.Configuration()
        configuration.capacity = 10
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), configuration: configuration, logger: Logger(label: "test"))
        recorder.start()
        record(recorder, 0..<25)
        #expect(recorder.counts.dropped == 15 && recorder.counts.pending == 10)
        try await waitUntil { log.state.withLock { $0.appends.count } >= 2 }
        record(recorder, 25..<30)
        #expect(recorder.counts.dropped == 20 && recorder.counts.pending == 10, "failed passes give nothing back")
        log.state.withLock { $0.failAlways = false }
        try await waitUntil { recorder.counts.written == 10 }
        recorder.flush(deadline: .now + .seconds(2))
        #expect(log.state.withLock { $0.committed } == Array(0..<10))
        #expect(recorder.counts.dropped == 20 && recorder.counts.pending == 0)
    }

    @Test("Records out with a stuck writer count against the capacity: the buffer does not fill again behind them")
    func recordsInAStuckPassCountAgainstTheCapacity() async throws {
        let log = HeldLog()
        var configuration = PredictionRecorder.Configuration()
        configuration.capacity = 10
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), configuration: configuration, logger: Logger(label: "test"))
        record(recorder, 0..<8)
        recorder.start()
        try await waitUntil { log.entered.load(ordering: .relaxed) == 1 }
        record(recorder, 8..<13)
        #expect(recorder.counts.pending == 10 && recorder.counts.dropped == 3)
        log.released.store(true, ordering: .relaxed)
        try await waitUntil { recorder.counts.written == 10 }
        recorder.flush(deadline: .now + .seconds(2))
        #expect(log.inner.state.withLock { $0.committed } == Array(0..<10))
    }

    @Test("A pass under way when the shutdown deadline passes is waited for, and what it commits is counted")
    func passUnderWayAtTheDeadlineIsCounted() async throws {
        let log = HeldLog()
        let statistics = StatisticsSink()
        var configuration = PredictionRecorder.Configuration()
        configuration.commitIntervalMilliseconds = 0  // the pass commits what it sends
        let recorder = PredictionRecorder(log: log, statisticsStore: statistics, configuration: configuration, logger: Logger(label: "test"))
        record(recorder, 0..<6)
        recorder.start()
        try await waitUntil { log.entered.load(ordering: .relaxed) == 1 }
        // The writer thread's append is held past the flush's deadline, then goes through.
        let release = Thread { Thread.sleep(forTimeInterval: 0.3); log.released.store(true, ordering: .relaxed) }
        release.start()
        let started = ContinuousClock.now
        recorder.flush(deadline: .now + .milliseconds(100))
        #expect(ContinuousClock.now - started >= .milliseconds(300), "the flush returned before the pass it waits for")
        #expect(log.inner.state.withLock { $0.committed } == Array(0..<6), "the held pass's records are committed")
        #expect(statistics.predictions.withLock { $0 } == 6, "their counts get the statistics' last write, past the deadline")
    }

    @Test("A failed append is sent again after a pause, in order, once")
    func failedAppendIsRetried() async throws {
        let log = MemoryLog(failNext: 1)
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), logger: Logger(label: "test"))
        record(recorder, 0..<40)
        recorder.start()
        try await waitUntil { recorder.counts.written == 40 }
        recorder.flush(deadline: .now + .seconds(2))
        let state = log.state.withLock { $0 }
        #expect(state.committed == Array(0..<40) && state.abandons == 1 && state.appends == [40, 40])
    }

    @Test("An append that fails after others of the same write: the whole write is sent again, nothing lost")
    func failedAppendResendsTheWholeWrite() async throws {
        let log = MemoryLog()
        log.state.withLock { $0.failingAppends = [2] }
        var configuration = PredictionRecorder.Configuration()
        configuration.batchSize = 64
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), configuration: configuration, logger: Logger(label: "test"))
        record(recorder, 0..<200)
        recorder.start()  // the writer thread's pass sends all it takes into one write (a shutdown pass sends one batch)
        try await waitUntil { recorder.counts.written == 200 }
        recorder.flush(deadline: .now + .seconds(2))
        let state = log.state.withLock { $0 }
        #expect(state.appends == [64, 64, 64, 64, 64, 8] && state.abandons == 1)
        #expect(state.committed == Array(0..<200))
        #expect(recorder.counts.written == 200 && recorder.counts.pending == 0 && recorder.counts.dropped == 0)
    }

    @Test("A log that keeps failing is retried with a growing wait, not every pass interval, and keeps the records")
    func failuresBackOff() async throws {
        let log = MemoryLog(failAlways: true)
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), logger: Logger(label: "test"))
        record(recorder, 0..<5)
        recorder.start()
        try await Task.sleep(for: .seconds(1))
        recorder.flush(deadline: .now)
        let attempts = log.state.withLock { $0.appends.count }
        // 5, 10, 20, 40, 80 ms, then every 100 ms: about 13 in a second; every 5 ms would be about 200.
        #expect(attempts >= 3 && attempts <= 30, "\(attempts) attempts in 1 s")
        #expect(recorder.counts.pending == 5 && recorder.counts.dropped == 0 && recorder.counts.written == 0)
    }

    @Test("Flush at shutdown, with no writer thread, sends and commits everything buffered, a batch per commit")
    func flushCommitsEverything() {
        let log = MemoryLog()
        var configuration = PredictionRecorder.Configuration()
        configuration.commitIntervalMilliseconds = 60_000
        configuration.batchSize = 64
        let recorder = PredictionRecorder(log: log, statisticsStore: StatisticsSink(), configuration: configuration, logger: Logger(label: "test"))
        record(recorder, 0..<200)
        recorder.flush(deadline: .now + .seconds(2))
        let state = log.state.withLock { $0 }
        #expect(state.appends == [64, 64, 64, 8] && state.commits == 4, "each batch committed before the next is sent")
        #expect(state.committed == Array(0..<200))
        #expect(recorder.counts.written == 200 && recorder.counts.pending == 0)
    }
}
