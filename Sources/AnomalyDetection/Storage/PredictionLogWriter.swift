/// Where the prediction recorder sends its records: into an open write that `commit` makes durable and visible.
/// A failed `append` loses everything the open write held, and the caller sends those records again. A failed
/// `commit` leaves the write in doubt: the server may have committed it and lost only the answer. The caller then
/// asks `isCommitted` before sending its records again, so that none is logged twice.
public protocol PredictionLogWriter: Sendable {
    /// Sends records into the open write, opening one first if there is none.
    /// - Returns: the open write.
    /// - Throws: when the write cannot go on; call `abandon` before trying again.
    func append(_ predictions: ArraySlice<PredictionRecord>) throws -> PredictionLogWriteID
    /// Commits the open write, if there is one.
    /// - Throws: when it could not be confirmed; call `abandon`, then `isCommitted` for the write.
    func commit() throws
    /// Forgets the open write after a failure, so that the next `append` starts afresh. A write never sent to be
    /// committed is rolled back.
    func abandon()
    /// Whether `write`, whose `commit` failed, was committed all the same.
    /// - Returns: true when it was committed (its records must not be sent again), false when it was not (they
    ///   must), nil while the server has not settled it (the write is still open there, e.g. on a stopped server).
    /// - Throws: when the log cannot be asked now.
    func isCommitted(_ write: PredictionLogWriteID) throws -> Bool?
}

/// One write of the prediction log: for Postgres, the id of its transaction.
public struct PredictionLogWriteID: Hashable, Sendable, CustomStringConvertible {
    /// The log's own number for the write (for Postgres, the `xid8` of its transaction).
    public let rawValue: UInt64

    /// A write numbered `rawValue` by its log.
    public init(_ rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// The number in decimal, as Postgres reads an `xid8`.
    public var description: String { String(rawValue) }
}
