import Testing
@testable import AnomalyDetection

/// The writer's pass as a state machine: the steps it asks for and what each answer does to the records,
/// with no log and no clock but the instants given.
@Suite("Prediction-log pass")
struct PredictionLogPassTests {
    struct Refused: Error {}

    static let start = ContinuousClock.now
    static let policy = PredictionLogPass.Policy(batchSize: 2, commitInterval: .milliseconds(20))

    static func records(_ timestamps: ClosedRange<Int64>) -> [PredictionRecord] {
        timestamps.map { PredictionRecord(seriesID: "s", version: 1, timestamp: $0, value: 1, anomaly: false, zScore: 0, latencyMicroseconds: 1) }
    }

    static func timestamps(_ records: some Sequence<PredictionRecord>) -> [Int64] {
        records.map(\.timestamp)
    }

    static func append(_ timestamps: ClosedRange<Int64>) -> PredictionLogPass.Step {
        .append(ArraySlice(records(timestamps)))
    }

    @Test func newRecordsGoOutInBatchesAndAreCommittedWhenTheWriteIsOldEnough() {
        let write = PredictionLogWriteID(7)
        var pass = PredictionLogPass(taken: Self.records(1...5), policy: Self.policy)
        #expect(pass.held == 5)
        #expect(pass.next(now: Self.start) == Self.append(1...2))
        pass.appended(to: write, now: Self.start)
        #expect(pass.next(now: Self.start) == Self.append(3...4))
        pass.appended(to: write, now: Self.start + .milliseconds(5))
        #expect(pass.next(now: Self.start) == Self.append(5...5))
        pass.appended(to: write, now: Self.start + .milliseconds(10))
        #expect(pass.openedAt == Self.start, "the write opened with its first batch")
        #expect(pass.next(now: Self.start + .milliseconds(20)) == .commit)
        pass.commitSucceeded()
        #expect(pass.next(now: Self.start + .milliseconds(20)) == .finished)
        #expect(Self.timestamps(pass.committed) == [1, 2, 3, 4, 5])
        #expect(pass.uncommitted.isEmpty && pass.write == nil && pass.openedAt == nil && pass.putBack.isEmpty && pass.failure == nil)
    }

    @Test func aYoungWriteStaysOpenWhileRecordsKeepComing() {
        let write = PredictionLogWriteID(3)
        var pass = PredictionLogPass(taken: Self.records(1...2), policy: Self.policy)
        #expect(pass.next(now: Self.start) == Self.append(1...2))
        pass.appended(to: write, now: Self.start)
        #expect(pass.next(now: Self.start + .milliseconds(19)) == .finished)
        #expect(Self.timestamps(pass.uncommitted) == [1, 2] && pass.write == write && pass.committed.isEmpty)

        var next = PredictionLogPass(taken: Self.records(3...3), uncommitted: pass.uncommitted, openedAt: pass.openedAt, write: pass.write, policy: Self.policy)
        #expect(next.held == 3)
        #expect(next.next(now: Self.start) == Self.append(3...3))
        next.appended(to: write, now: Self.start + .milliseconds(20))
        #expect(next.openedAt == Self.start, "a later batch does not make the write younger")
        #expect(next.next(now: Self.start + .milliseconds(20)) == .commit)
        next.commitSucceeded()
        #expect(Self.timestamps(next.committed) == [1, 2, 3])
    }

    @Test func aPauseInTrafficOrAShutdownCommitsTheOpenWriteAtOnce() {
        let open = PredictionRecordChunks(Self.records(1...3))
        var paused = PredictionLogPass(taken: [], uncommitted: open, openedAt: Self.start, write: PredictionLogWriteID(1), policy: Self.policy)
        #expect(paused.next(now: Self.start) == .commit, "nothing new came: commit what is open")

        var shutdown = PredictionLogPass(taken: Self.records(4...4), uncommitted: open, openedAt: Self.start, write: PredictionLogWriteID(1),
                                         policy: PredictionLogPass.Policy(batchSize: 2, commitInterval: .seconds(60), commitNow: true))
        #expect(shutdown.next(now: Self.start) == Self.append(4...4))
        shutdown.appended(to: PredictionLogWriteID(1), now: Self.start)
        #expect(shutdown.next(now: Self.start) == .commit)

        var idle = PredictionLogPass(taken: [], policy: Self.policy)
        #expect(idle.next(now: Self.start) == .finished, "no write is opened for nothing")
    }

    @Test func aShutdownPassSendsOneBatchCommitsItAndPutsTheRestBack() {
        // So that what is sent is committed batch by batch, and the writer can stop at its deadline between passes.
        var pass = PredictionLogPass(taken: Self.records(1...5), policy: PredictionLogPass.Policy(batchSize: 2, commitInterval: .seconds(60), commitNow: true))
        #expect(pass.held == 5)
        #expect(Self.timestamps(pass.putBack) == [3, 4, 5])
        #expect(pass.next(now: Self.start) == Self.append(1...2))
        pass.appended(to: PredictionLogWriteID(2), now: Self.start)
        #expect(pass.next(now: Self.start) == .commit)
        pass.commitSucceeded()
        #expect(pass.next(now: Self.start) == .finished)
        #expect(Self.timestamps(pass.committed) == [1, 2] && Self.timestamps(pass.putBack) == [3, 4, 5] && pass.failure == nil)

        var failing = PredictionLogPass(taken: Self.records(1...5), policy: PredictionLogPass.Policy(batchSize: 2, commitInterval: .seconds(60), commitNow: true))
        _ = failing.next(now: Self.start)
        failing.failed(Refused())
        #expect(Self.timestamps(failing.putBack) == [1, 2, 3, 4, 5], "a failed batch goes back in front of the rest")
    }

    @Test func aShutdownPassResendsAWriteInDoubtOneBatchAtATime() {
        // A write in doubt can hold many batches; resent whole, it could outlast the shutdown's deadline in one pass.
        let doubt = (write: PredictionLogWriteID(9), records: PredictionRecordChunks(Self.records(1...5)))
        var pass = PredictionLogPass(taken: Self.records(6...8), inDoubt: doubt, policy: PredictionLogPass.Policy(batchSize: 2, commitInterval: .seconds(60), commitNow: true))
        #expect(pass.held == 8)
        #expect(pass.next(now: Self.start) == .settle(PredictionLogWriteID(9)))
        pass.settled(false)
        #expect(pass.held == 8, "nothing lost in the split")
        #expect(pass.next(now: Self.start) == Self.append(1...2))
        pass.appended(to: PredictionLogWriteID(10), now: Self.start)
        #expect(pass.next(now: Self.start) == .commit)
        pass.commitSucceeded()
        #expect(pass.next(now: Self.start) == .finished)
        #expect(Self.timestamps(pass.committed) == [1, 2])
        #expect(Self.timestamps(pass.putBack) == [3, 4, 5, 6, 7, 8], "the rest of the doubt, then what was taken, oldest first")
    }

    @Test func aWriteInDoubtIsSettledBeforeAnythingNewer() {
        let doubt = (write: PredictionLogWriteID(9), records: PredictionRecordChunks(Self.records(1...2)))

        var wasCommitted = PredictionLogPass(taken: Self.records(3...3), inDoubt: doubt, policy: Self.policy)
        #expect(wasCommitted.held == 3)
        #expect(wasCommitted.next(now: Self.start) == .settle(PredictionLogWriteID(9)))
        wasCommitted.settled(true)
        #expect(Self.timestamps(wasCommitted.committed) == [1, 2], "committed after all: counted, never sent again")
        #expect(wasCommitted.next(now: Self.start) == Self.append(3...3))

        var wasNot = PredictionLogPass(taken: Self.records(3...3), inDoubt: doubt, policy: Self.policy)
        _ = wasNot.next(now: Self.start)
        wasNot.settled(false)
        #expect(wasNot.committed.isEmpty && wasNot.inDoubt == nil)
        #expect(wasNot.next(now: Self.start) == Self.append(1...2), "not committed: sent again, in front")
    }

    @Test func aWriteTheLogHasNotSettledHoldsEverythingNewerBack() {
        let doubt = (write: PredictionLogWriteID(9), records: PredictionRecordChunks(Self.records(1...2)))
        var pass = PredictionLogPass(taken: Self.records(3...4), inDoubt: doubt, policy: Self.policy)
        _ = pass.next(now: Self.start)
        pass.settled(nil)
        #expect(pass.next(now: Self.start) == .finished, "the connection is fine: nothing to abandon")
        #expect(pass.failure is PredictionLogInDoubt)
        #expect(pass.inDoubt?.write == PredictionLogWriteID(9) && Self.timestamps(pass.putBack) == [3, 4] && pass.committed.isEmpty)
    }

    @Test func aLookupThatFailsAbandonsTheConnectionAndKeepsTheDoubt() {
        let doubt = (write: PredictionLogWriteID(9), records: PredictionRecordChunks(Self.records(1...2)))
        var pass = PredictionLogPass(taken: Self.records(3...3), inDoubt: doubt, policy: Self.policy)
        _ = pass.next(now: Self.start)
        pass.failed(Refused())
        #expect(pass.next(now: Self.start) == .abandon)
        #expect(pass.next(now: Self.start) == .finished)
        #expect(pass.inDoubt?.write == PredictionLogWriteID(9) && Self.timestamps(pass.putBack) == [3] && pass.failure is Refused)
    }

    @Test func aFailedAppendSendsAgainEverythingTheWriteHeld() {
        let write = PredictionLogWriteID(4)
        let open = PredictionRecordChunks(Self.records(1...2))
        var pass = PredictionLogPass(taken: Self.records(3...5), uncommitted: open, openedAt: Self.start, write: write, policy: Self.policy)
        #expect(pass.next(now: Self.start) == Self.append(3...4))
        pass.appended(to: write, now: Self.start)
        #expect(pass.next(now: Self.start) == Self.append(5...5))
        pass.failed(Refused())
        #expect(pass.next(now: Self.start) == .abandon)
        #expect(pass.next(now: Self.start) == .finished)
        #expect(Self.timestamps(pass.putBack) == [1, 2, 3, 4, 5], "the earlier passes' records, then this one's, sent or not")
        #expect(pass.uncommitted.isEmpty && pass.write == nil && pass.openedAt == nil && pass.committed.isEmpty && pass.inDoubt == nil)
    }

    @Test func aFailedCommitLeavesTheWriteInDoubtAndSendsNothingAgain() {
        let write = PredictionLogWriteID(5)
        var pass = PredictionLogPass(taken: Self.records(1...2), policy: PredictionLogPass.Policy(batchSize: 8, commitInterval: .zero))
        #expect(pass.next(now: Self.start) == Self.append(1...2))
        pass.appended(to: write, now: Self.start)
        #expect(pass.next(now: Self.start) == .commit)
        pass.failed(Refused())
        #expect(pass.next(now: Self.start) == .abandon)
        #expect(pass.next(now: Self.start) == .finished)
        #expect(pass.inDoubt?.write == write && Self.timestamps(pass.inDoubt?.records ?? PredictionRecordChunks()) == [1, 2])
        #expect(pass.putBack.isEmpty && pass.committed.isEmpty && pass.uncommitted.isEmpty && pass.write == nil)
    }

    @Test func recordsSettledAsCommittedStayCountedWhenALaterAppendFails() {
        let doubt = (write: PredictionLogWriteID(9), records: PredictionRecordChunks(Self.records(1...2)))
        var pass = PredictionLogPass(taken: Self.records(3...3), inDoubt: doubt, policy: Self.policy)
        _ = pass.next(now: Self.start)
        pass.settled(true)
        _ = pass.next(now: Self.start)
        pass.failed(Refused())
        #expect(Self.timestamps(pass.committed) == [1, 2] && Self.timestamps(pass.putBack) == [3])
    }
}
