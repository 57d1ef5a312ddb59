/// Where the prediction recorder sends its records: into an open write that `commit` makes durable and visible.
/// A failure of either call loses everything the open write held; the caller keeps those records to send again.
public protocol PredictionLogWriter: Sendable {
    /// Sends records into the open write, opening one first if there is none.
    /// - Throws: when the write cannot go on; call `abandon` before trying again.
    func append(_ predictions: ArraySlice<PredictionRecord>) throws
    /// Commits the open write, if there is one.
    /// - Throws: when it could not be committed; call `abandon` before trying again.
    func commit() throws
    /// Forgets the open write after a failure (its transaction is rolled back), so that the next `append`
    /// starts afresh.
    func abandon()
}
