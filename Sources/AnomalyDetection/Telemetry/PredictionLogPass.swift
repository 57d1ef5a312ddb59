/// One pass of the prediction log's writer, apart from its I/O: what to ask the log next (settle a write in
/// doubt, send a batch, commit, forget a failed write) and what each answer means for the records.
/// `PredictionRecorder` carries the steps out against the log; the unit tests drive this directly.
///
/// The order is the log's guarantee that each record is logged once: a write whose commit got no answer is
/// settled before anything newer is sent (its records go again only if the log says it was not committed); a
/// failed append sends again everything the open write held; a failed commit leaves the write in doubt.
struct PredictionLogPass {
    /// What the writer does next.
    enum Step: Equatable {
        /// Ask the log whether this write, whose commit got no answer, was committed after all.
        case settle(PredictionLogWriteID)
        /// Send these records into the open write (opening one if there is none).
        case append(ArraySlice<PredictionRecord>)
        /// Commit the open write.
        case commit
        /// Forget the open write after a failure, so that the next append starts afresh.
        case abandon
        /// The pass is over: read `committed`, `putBack` and `failure`.
        case finished
    }

    /// When and how much the pass sends.
    struct Policy {
        /// The most records per append.
        var batchSize: Int
        /// How old the open write may get while records keep coming.
        var commitInterval: Duration
        /// Shutdown: commit whatever is open, and at most one batch per pass, so that what is written is committed
        /// batch by batch and the writer can stop at its deadline between passes.
        var commitNow = false
    }

    /// A write whose commit got no answer, and its records.
    typealias InDoubt = (write: PredictionLogWriteID, records: PredictionRecordChunks)

    /// What one pass hands to the next: the open write and a write in doubt. The recorder keeps it between passes.
    struct Carried {
        /// Sent into the open write and not committed.
        var uncommitted = PredictionRecordChunks()
        /// When the open write took its first records.
        var openedAt: ContinuousClock.Instant?
        /// The open write.
        var write: PredictionLogWriteID?
        /// A write whose commit got no answer: settled first.
        var inDoubt: InDoubt?

        /// The records it holds.
        var count: Int { uncommitted.count + (inDoubt?.records.count ?? 0) }
    }

    /// The records this pass took from the buffer, with those of a write in doubt that turned out not committed
    /// in front.
    private(set) var taken: [PredictionRecord]
    /// The open write and a write in doubt, as the pass leaves them for the next.
    private(set) var carried: Carried
    var uncommitted: PredictionRecordChunks { carried.uncommitted }
    var openedAt: ContinuousClock.Instant? { carried.openedAt }
    var write: PredictionLogWriteID? { carried.write }
    var inDoubt: InDoubt? { carried.inDoubt }

    /// Records committed during the pass.
    private(set) var committed = PredictionRecordChunks()
    /// Records to put back in front of the buffer, oldest first: a failed write's, and at shutdown those beyond
    /// the pass's one batch.
    private(set) var putBack: [PredictionRecord] = []
    /// Why the pass ended early, if it did.
    private(set) var failure: (any Error)?

    private let policy: Policy
    private var sent = 0
    private var stage = Stage.settling
    private var mustAbandon = false

    private enum Stage { case settling, sending, committing, done }

    /// A pass over what the buffer handed over.
    /// - Parameters:
    ///   - taken: the records taken from the buffer, oldest first.
    ///   - carried: the open write and a write in doubt, as the last pass left them.
    ///   - policy: batch size and when to commit.
    init(taken: [PredictionRecord], carried: Carried = Carried(), policy: Policy) {
        // A failed commit closes its write: a write in doubt and an open one never coexist. (If they did, a failed
        // lookup would abandon the open write while it still counted as sent.)
        precondition(carried.inDoubt == nil || carried.write == nil, "a write in doubt beside an open write")
        self.taken = taken
        self.carried = carried
        self.policy = policy
        keepOneBatchAtShutdown()
    }

    /// The same, with the carried state spelled out (the tests').
    init(taken: [PredictionRecord], uncommitted: PredictionRecordChunks = PredictionRecordChunks(), openedAt: ContinuousClock.Instant? = nil,
         write: PredictionLogWriteID? = nil, inDoubt: InDoubt? = nil, policy: Policy) {
        self.init(taken: taken, carried: Carried(uncommitted: uncommitted, openedAt: openedAt, write: write, inDoubt: inDoubt), policy: policy)
    }

    /// Every record the pass holds that is not written yet.
    var held: Int { taken.count - sent + carried.count + putBack.count }

    /// The next step, given the time now (for the commit interval).
    mutating func next(now: ContinuousClock.Instant) -> Step {
        if mustAbandon {
            mustAbandon = false
            return .abandon
        }
        switch stage {
        case .settling:
            if let doubt = inDoubt { return .settle(doubt.write) }
            stage = .sending
            return next(now: now)
        case .sending:
            if sent < taken.count {
                return .append(taken[sent..<min(taken.count, sent + policy.batchSize)])
            }
            carried.uncommitted.append(taken)
            stage = .committing
            guard write != nil, let opened = openedAt, !uncommitted.isEmpty,
                  policy.commitNow || taken.isEmpty || now - opened >= policy.commitInterval else {
                stage = .done
                return .finished
            }
            return .commit
        case .committing, .done:
            stage = .done
            return .finished
        }
    }

    /// The log's answer to `.settle`: committed, not committed, or not settled yet (nil).
    mutating func settled(_ wasCommitted: Bool?) {
        guard let doubt = inDoubt else { return }
        guard let wasCommitted else {
            // Still open on the server: nothing newer may go before it. Not a failure of the connection.
            end(PredictionLogInDoubt(write: doubt.write), putBack: taken)
            return
        }
        carried.inDoubt = nil
        if wasCommitted {
            committed = doubt.records
        } else {
            taken = doubt.records.array + taken
            keepOneBatchAtShutdown()
        }
        stage = .sending
    }

    /// `.append` went through: the batch is in `write`, opened at `now` if it was not open yet.
    mutating func appended(to write: PredictionLogWriteID, now: ContinuousClock.Instant) {
        guard case .sending = stage, sent < taken.count else { return }
        carried.write = write
        carried.openedAt = carried.openedAt ?? now
        sent = min(taken.count, sent + policy.batchSize)
    }

    /// `.commit` went through.
    mutating func commitSucceeded() {
        guard case .committing = stage else { return }
        committed.append(contentsOf: uncommitted)
        closeWrite()
        stage = .done
    }

    /// The step under way failed. A failed lookup or append loses the open write, which was never sent to be
    /// committed: everything it held goes again. A failed commit may have committed and lost only its answer:
    /// its records wait in doubt for the next pass to ask.
    mutating func failed(_ error: any Error) {
        switch stage {
        case .settling:
            end(error, putBack: taken)
        case .sending:
            let resend = uncommitted.array + taken
            closeWrite()
            end(error, putBack: resend)
        case .committing:
            if let write { carried.inDoubt = (write, uncommitted) }
            closeWrite()
            end(error, putBack: [])
        case .done:
            return
        }
        mustAbandon = true
    }

    /// At shutdown a pass sends one batch, a write in doubt that turned out not committed included: the rest goes
    /// back in front of what is already put back, oldest first.
    private mutating func keepOneBatchAtShutdown() {
        guard policy.commitNow, taken.count > policy.batchSize else { return }
        putBack = Array(taken[policy.batchSize...]) + putBack
        taken = Array(taken[..<policy.batchSize])
    }

    private mutating func closeWrite() {
        carried.uncommitted = PredictionRecordChunks()
        carried.openedAt = nil
        carried.write = nil
    }

    private mutating func end(_ error: any Error, putBack records: [PredictionRecord]) {
        failure = error
        putBack = records + putBack
        taken = []
        sent = 0
        stage = .done
    }
}
