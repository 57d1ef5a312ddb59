/// A failure talking to Postgres.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No connection could be made, or it broke: the server is down or unreachable. Retry later.
        case unavailable
        /// The server refused the statement; `sqlState` says why.
        case statement
    }

    public let kind: Kind
    /// The five-character SQLSTATE for a statement error (e.g. `23505`), nil otherwise.
    public let sqlState: String?
    public let message: String

    public init(kind: Kind, sqlState: String? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String {
        sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message
    }

    /// Whether a client should retry later: the server was unreachable, shutting down or cancelled the statement.
    public var isTransient: Bool {
        guard kind == .statement, let sqlState else { return true }
        // Class 08 connection exception, 57 operator intervention (admin shutdown, query cancelled/timeout),
        // 53 insufficient resources, 40 serialization/deadlock.
        return ["08", "57", "53", "40"].contains(String(sqlState.prefix(2)))
    }
}
