import Synchronization

/// The prediction log written through `COPY prediction_batches FROM STDIN (FORMAT binary)` on a connection of
/// its own: each `append` sends its rows down the open COPY, which Postgres inserts as they arrive with no
/// statement, executor start-up or commit of their own; `commit` ends the COPY. Measured at 50-85k
/// predicts/s with the writer's 5-ms passes and a commit every 20 ms, CPU of the log's Postgres backend per
/// predict: 0.27-0.43 µs, against 0.48-0.66 µs with one INSERT per pass.
///
/// Each write is one transaction whose id it learns as it opens (the COPY and a `SELECT` before it run as one
/// simple query, hence one transaction). When a commit gets no answer, `isCommitted` asks Postgres what became of
/// that transaction (`pg_xact_status`), so that its rows are neither lost nor logged twice. A transaction still
/// open on the server past `settleTimeout` (its backend never learnt that this process gave up on it: a
/// half-open connection, or a commit stuck far past the reply timeout) is ended with `pg_terminate_backend`, so
/// that the log does not wait on it for as long as TCP keepalive takes.
public final class PostgresPredictionLog: PredictionLogWriter {
    private struct State {
        var connection: PostgresConnection?
        /// The open write, while there is one.
        var write: PredictionLogWriteID?
        /// The last write opened, the server process that runs it and its start (microseconds since the epoch,
        /// its rows' `recorded_at`), kept after a failure for `isCommitted`.
        var opened: (write: PredictionLogWriteID, backend: Int64, began: Int64)?
        /// Since when lookups have found `opened` still open on the server.
        var unsettledSince: ContinuousClock.Instant?
    }

    static let copySQL = """
        SELECT pg_current_xact_id() AS xact, pg_backend_pid() AS backend, (extract(epoch FROM now()) * 1000000)::bigint AS began; \
        COPY prediction_batches (\(PredictionColumns.copyColumns)) FROM STDIN (FORMAT binary)
        """
    static let statusSQL = "SELECT pg_xact_status($1::xid8) AS status"
    /// Whether the write's rows are there: its transaction id (as `xmin`, the low 32 bits) with its start time.
    /// After a crash that lost the write, Postgres may give its id to another transaction, whose status
    /// `pg_xact_status` would then report; that one did not start at the same microsecond with rows here.
    static let rowsSQL = """
        SELECT EXISTS (SELECT 1 FROM prediction_batches
                       WHERE recorded_at = 'epoch'::timestamptz + $2::bigint * interval '1 microsecond'
                         AND xmin::text::bigint = $1::bigint % 4294967296) AS found
        """
    /// Ends the backend only while it still runs that transaction (`backend_xid` is the xid8's low 32 bits).
    static let terminateSQL = """
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE pid = $1::integer AND backend_xid::text::bigint = $2::bigint % 4294967296
        """
    private let state = Mutex(State())
    private let makeConnection: @Sendable () throws -> PostgresConnection
    /// How long a write whose commit got no answer may stay open on the server before its backend is ended:
    /// twice the reply timeout.
    let settleTimeout: Duration

    /// - Parameter configuration: where Postgres is and how long to wait for it; its session settings apply
    ///   (commits are synchronous: a record counted as written is on disk). A COPY is open for about a commit interval, so the
    ///   statement timeout only ends one that waits on a lock (the server would go on waiting after this
    ///   process gave up and reconnected, one backend per attempt).
    public init(configuration: PostgresModelStore.Configuration) {
        settleTimeout = .milliseconds(2 * configuration.replyTimeoutMilliseconds)
        makeConnection = {
            try PostgresConnection(
                connectionString: configuration.connectionString,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds,
                statementTimeoutMilliseconds: configuration.statementTimeoutMilliseconds,
                replyTimeoutMilliseconds: configuration.replyTimeoutMilliseconds,
                sessionSettings: configuration.sessionSettings,
                nonBlocking: true
            )
        }
    }

    public func append(_ predictions: ArraySlice<PredictionRecord>) throws -> PredictionLogWriteID {
        // Rows per (series, version) of at most 250 records each, in arrival order within each.
        let tuples = predictions.isEmpty ? [] : PredictionColumns(predictions).copyTuples()
        return try state.withLock { state in
            if let write = state.write {
                // A write that was open on a lost connection is gone with it: say so rather than start a new one.
                guard let connection = state.connection, connection.isHealthy else {
                    throw PostgresError(kind: .unavailable, message: "the prediction log's open write was lost with its connection")
                }
                try connection.putCopyData(tuples)
                return write
            }
            let connection = try healthyConnection(&state)
            let opened = try connection.beginCopy(Self.copySQL)
            guard let row = opened.first?.rows.first, row.count == 3, let id = row[0].flatMap(UInt64.init),
                  let backend = row[1].flatMap(Int64.init), let began = row[2].flatMap(Int64.init) else {
                // The COPY is open: this connection can do nothing else until it ends, so it goes.
                state.connection = nil
                throw PostgresError(kind: .statement, message: "Postgres did not say which transaction the prediction log's write is")
            }
            let write = PredictionLogWriteID(id)
            state.write = write
            state.opened = (write, backend, began)
            state.unsettledSince = nil
            try connection.putCopyData(PredictionColumns.copyHeader + tuples)
            return write
        }
    }

    public func commit() throws {
        try state.withLock { state in
            guard state.write != nil, let connection = state.connection else { return }
            state.write = nil
            try connection.putCopyData(PredictionColumns.copyTrailer)
            try connection.endCopy()
        }
    }

    public func abandon() {
        // Dropping the connection ends the COPY; unless its end was sent, the server rolls it back.
        state.withLock { state in
            state.connection = nil
            state.write = nil
        }
    }

    public func isCommitted(_ write: PredictionLogWriteID) throws -> Bool? {
        try state.withLock { state in
            guard state.write == nil else {
                throw PostgresError(kind: .statement, message: "the prediction log cannot look a write up while one is open")
            }
            let connection = try healthyConnection(&state)
            let status: String?
            do {
                status = try connection.execute(Self.statusSQL, [.text(write.description)]).rows.first?.first ?? nil
            } catch let error as PostgresError where error.sqlState == "22023" {
                // "Transaction ID … is in the future": a crash took it back before any trace of it was kept.
                return false
            }
            switch status {
            case "committed":
                guard let opened = state.opened, opened.write == write else { return true }
                let rows = try connection.execute(Self.rowsSQL, [.text(write.description), .int(opened.began)])
                return rows.rows.first?.first == "t"
            case "in progress":
                let now = ContinuousClock.now
                let since = state.unsettledSince ?? now
                state.unsettledSince = since
                if now - since >= settleTimeout, let opened = state.opened, opened.write == write {
                    // Ended before its commit, it aborts; the next lookup then has an answer either way.
                    _ = try connection.execute(Self.terminateSQL, [.int(opened.backend), .text(write.description)])
                }
                return nil
            default:
                // Aborted, or so old that Postgres no longer knows (nil): sending the rows again risks a duplicate
                // rather than a loss.
                return false
            }
        }
    }

    private func healthyConnection(_ state: inout State) throws -> PostgresConnection {
        if let connection = state.connection, connection.isHealthy { return connection }
        state.connection = nil
        let connection = try makeConnection()
        state.connection = connection
        return connection
    }
}
