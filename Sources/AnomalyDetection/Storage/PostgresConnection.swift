import CLibPQ
import Glibc

/// One libpq connection, owned: `deinit` closes it, every `PGresult` is copied out and cleared at once.
/// Not thread-safe; `PostgresPool` hands it to one thread at a time.
public final class PostgresConnection: @unchecked Sendable {
    private let connection: OpaquePointer
    private var prepared: Set<String> = []
    /// How long the client waits for any one answer: a hung server (stopped, partitioned) would otherwise
    /// hold the request forever, since the server-side statement timeout cannot fire.
    private let replyTimeoutMilliseconds: Int
    /// Set when a reply timed out or the socket failed; the pool then drops the connection.
    private var broken = false

    /// Connects and sets the session's statement timeout.
    /// - Parameters:
    ///   - connectionString: a `postgresql://` URL or `key=value` pairs.
    ///   - connectTimeoutSeconds: used unless the connection string sets `connect_timeout` itself.
    ///   - statementTimeoutMilliseconds: how long one statement may run before the server cancels it.
    ///   - replyTimeoutMilliseconds: how long to wait for the server's answer before giving up on the connection.
    ///   - sessionSettings: extra `SET` statements for this session (e.g. `bytea_output = hex`).
    ///   - nonBlocking: libpq's nonblocking mode, in which sending never waits on a full socket (a COPY's data
    ///     then waits here, up to the reply timeout, instead of in libpq with no limit).
    /// - Throws: `PostgresError` of kind `.unavailable` when no connection can be made.
    public init(connectionString: String, connectTimeoutSeconds: Int = 3, statementTimeoutMilliseconds: Int = 4_000, replyTimeoutMilliseconds: Int = 5_000, sessionSettings: [String] = [], nonBlocking: Bool = false) throws {
        // Earlier keywords are overridden by what the expanded connection string (dbname) sets.
        let keywords = ["connect_timeout", "application_name", "dbname"]
        let values = ["\(connectTimeoutSeconds)", "anomaly-detection", connectionString]
        let connection = Self.withCStrings(keywords) { keywordPointers in
            Self.withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else { throw PostgresError(kind: .unavailable, message: "libpq could not allocate a connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.message(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(kind: .unavailable, message: "cannot connect to Postgres: \(message)")
        }
        self.connection = connection
        self.replyTimeoutMilliseconds = replyTimeoutMilliseconds
        if nonBlocking && PQsetnonblocking(connection, 1) != 0 {
            throw PostgresError(kind: .unavailable, message: "libpq refused nonblocking mode: \(Self.message(PQerrorMessage(connection)))")
        }
        let settings = ["statement_timeout = \(max(0, statementTimeoutMilliseconds))", "client_min_messages = warning"] + sessionSettings
        _ = try execute(settings.map { "SET \($0)" }.joined(separator: "; "))
    }

    deinit {
        PQfinish(connection)
    }

    /// False once the connection broke; the pool then throws it away.
    public var isHealthy: Bool { !broken && PQstatus(connection) == CONNECTION_OK }

    /// Runs `sql` with parameters (none for statements that take none), unprepared.
    /// - Throws: `PostgresError`.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue] = []) throws -> PostgresResult {
        // The simple protocol takes several commands in one string (migrations); the extended one takes parameters.
        if parameters.isEmpty { return try exchange { PQsendQuery(connection, sql) } }
        return try withParameters(parameters) { count, values, lengths, formats in
            PQsendQueryParams(connection, sql, count, nil, values, lengths, formats, 0)
        }
    }

    /// Runs a statement, preparing it on this connection the first time.
    /// - Throws: `PostgresError`.
    @discardableResult
    public func execute(_ statement: PostgresStatement, _ parameters: [PostgresValue]) throws -> PostgresResult {
        if !prepared.contains(statement.name) {
            _ = try exchange { PQsendPrepare(connection, statement.name, statement.sql, Int32(parameters.count), nil) }
            prepared.insert(statement.name)
        }
        return try withParameters(parameters) { count, values, lengths, formats in
            PQsendQueryPrepared(connection, statement.name, count, values, lengths, formats, 0)
        }
    }

    /// Runs `body` inside BEGIN/COMMIT, rolling back when it throws.
    public func transaction<Result>(_ body: (PostgresConnection) throws -> Result) throws -> Result {
        try execute("BEGIN")
        do {
            let result = try body(self)
            try execute("COMMIT")
            return result
        } catch {
            if isHealthy { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Starts `COPY ... FROM STDIN`: until `endCopy`, the connection takes only `putCopyData`.
    /// - Parameter sql: the COPY, last, optionally after other statements and with no `BEGIN`/`COMMIT`: one
    ///   simple query runs as one implicit transaction, which commits when its last statement, the COPY, ends.
    /// - Returns: the results of the statements before the COPY, in order.
    /// - Throws: `PostgresError` when the server refuses a statement or cannot be reached.
    @discardableResult
    public func beginCopy(_ sql: String) throws -> [PostgresResult] {
        guard !broken, PQsendQuery(connection, sql) == 1 else {
            throw PostgresError(kind: isHealthy ? .statement : .unavailable, message: Self.message(PQerrorMessage(connection)))
        }
        let deadline = MonotonicClock.milliseconds + Int64(replyTimeoutMilliseconds)
        try flush(until: deadline)
        var earlier: [PostgresResult] = []
        var failure: (any Error)?
        while true {
            guard let result = try nextResult(until: deadline) else { break }
            if PQresultStatus(result) == PGRES_COPY_IN {
                PQclear(result)
                guard let failure else { return earlier }
                // Not reached (an error ends the query string), but a COPY must not be left open on a pooled connection.
                broken = true
                throw failure
            }
            // A statement's result, or an error: collect it and whatever follows, so that the connection is idle again.
            do { earlier.append(try consume(result)) } catch { failure = failure ?? error }
        }
        throw failure ?? lost("Postgres ended the query before its COPY began")
    }

    /// Sends data of a COPY begun with `beginCopy`, waiting (up to the reply timeout) while the socket is full.
    /// - Throws: `PostgresError` of kind `.unavailable`; the connection is then unusable.
    public func putCopyData(_ bytes: [UInt8]) throws {
        let deadline = MonotonicClock.milliseconds + Int64(replyTimeoutMilliseconds)
        try queue(until: deadline) {
            bytes.withUnsafeBytes { PQputCopyData(connection, $0.baseAddress?.assumingMemoryBound(to: CChar.self), Int32($0.count)) }
        }
        try flush(until: deadline)
    }

    /// Ends a COPY and waits for its outcome: when the COPY ends its query outside an explicit transaction
    /// block, its transaction's commit.
    /// - Throws: `PostgresError`: the server rejected the data, or the connection failed (and the COPY with it).
    @discardableResult
    public func endCopy() throws -> PostgresResult {
        try queue(until: MonotonicClock.milliseconds + Int64(replyTimeoutMilliseconds)) { PQputCopyEnd(connection, nil) }
        return try exchange { 1 }
    }

    /// Calls a libpq "put" until it queues (1), waiting for room on the socket while it cannot (0).
    private func queue(until deadline: Int64, _ put: () -> Int32) throws {
        guard !broken else { throw PostgresError(kind: .unavailable, message: "the connection to Postgres is broken") }
        while true {
            let queued = put()
            if queued == 1 { return }
            if queued < 0 { throw lost("sending COPY data to Postgres failed: \(Self.message(PQerrorMessage(connection)))") }
            try waitForSocket(events: Int16(POLLOUT), until: deadline)
            if PQconsumeInput(connection) != 1 { throw lost("reading from Postgres failed") }
        }
    }

    private func withParameters(
        _ parameters: [PostgresValue],
        _ send: (Int32, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> Int32
    ) throws -> PostgresResult {
        let encoded = parameters.map(\.encoded)
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(encoded.count)
        var allocations: [UnsafeMutablePointer<CChar>] = []
        defer { allocations.forEach { $0.deallocate() } }
        for (bytes, binary) in encoded {
            guard let bytes else {
                pointers.append(nil)
                continue
            }
            let storage = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            bytes.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { storage.update(from: $0.baseAddress!, count: bytes.count) }
            }
            storage[bytes.count] = 0
            if !binary && bytes.contains(0) {
                throw PostgresError(kind: .statement, sqlState: "22021", message: "text parameters cannot contain NUL bytes")
            }
            allocations.append(storage)
            pointers.append(UnsafePointer(storage))
        }
        let lengths = encoded.map { Int32($0.bytes?.count ?? 0) }
        let formats = encoded.map { Int32($0.binary ? 1 : 0) }
        return try exchange {
            pointers.withUnsafeBufferPointer { values in
                lengths.withUnsafeBufferPointer { lengths in
                    formats.withUnsafeBufferPointer { formats in
                        send(Int32(encoded.count), values.baseAddress, lengths.baseAddress, formats.baseAddress)
                    }
                }
            }
        }
    }

    /// Sends a command with libpq's asynchronous calls and collects its results, never waiting longer than
    /// the reply timeout; the last result is returned, the first error thrown.
    private func exchange(_ send: () -> Int32) throws -> PostgresResult {
        guard !broken, send() == 1 else {
            throw PostgresError(kind: isHealthy ? .statement : .unavailable, message: Self.message(PQerrorMessage(connection)))
        }
        let deadline = MonotonicClock.milliseconds + Int64(replyTimeoutMilliseconds)
        try flush(until: deadline)
        var last: PostgresResult?
        var firstError: (any Error)?
        while true {
            guard let result = try nextResult(until: deadline) else { break }
            do {
                last = try consume(result)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        return last ?? PostgresResult(columns: [], rows: [], affectedRows: 0)
    }

    /// Waits (up to `deadline`) for the next result of the command in flight; nil once it has none left.
    private func nextResult(until deadline: Int64) throws -> OpaquePointer? {
        while PQisBusy(connection) == 1 {
            try waitForSocket(events: Int16(POLLIN), until: deadline)
            if PQconsumeInput(connection) != 1 { throw lost("reading from Postgres failed") }
        }
        return PQgetResult(connection)
    }

    private func flush(until deadline: Int64) throws {
        while true {
            let flushed = PQflush(connection)
            if flushed == 0 { return }
            if flushed < 0 { throw lost("sending to Postgres failed") }
            try waitForSocket(events: Int16(POLLIN | POLLOUT), until: deadline)
            if PQconsumeInput(connection) != 1 { throw lost("reading from Postgres failed") }
        }
    }

    private func waitForSocket(events: Int16, until deadline: Int64) throws {
        while true {
            let remaining = deadline - MonotonicClock.milliseconds
            guard remaining > 0 else {
                throw lost("Postgres did not answer within \(replyTimeoutMilliseconds) ms")
            }
            var descriptor = pollfd(fd: PQsocket(connection), events: events, revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(remaining, 1_000)))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw lost("waiting for Postgres failed: \(String(cString: strerror(errno)))") }
        }
    }

    /// Marks the connection unusable (the pool drops it) and describes why.
    private func lost(_ message: String) -> PostgresError {
        broken = true
        return PostgresError(kind: .unavailable, message: message)
    }

    /// Copies a result out and clears it; a failed one becomes a `PostgresError`.
    private func consume(_ result: OpaquePointer?) throws -> PostgresResult {
        guard let result else {
            throw PostgresError(kind: isHealthy ? .statement : .unavailable, message: Self.message(PQerrorMessage(connection)))
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.message(PQresultErrorMessage(result))
            // A broken connection has no SQLSTATE of its own; say so, so that callers answer 503.
            if !isHealthy || status == PGRES_FATAL_ERROR && sqlState == nil {
                throw PostgresError(kind: .unavailable, message: "lost the connection to Postgres: \(message)")
            }
            throw PostgresError(kind: .statement, sqlState: sqlState, message: message)
        }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            rows.append((0..<columnCount).map { column in
                PQgetisnull(result, Int32(row), Int32(column)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresResult(columns: columns, rows: rows, affectedRows: affected)
    }

    private static func message(_ pointer: UnsafePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) }?.trimmingSuffix("\n") ?? "unknown error"
    }

    private static func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result) -> Result {
        var duplicates = strings.map { strdup($0) }
        defer { duplicates.forEach { free($0) } }
        duplicates.append(nil)
        return duplicates.map { UnsafePointer($0) }.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
