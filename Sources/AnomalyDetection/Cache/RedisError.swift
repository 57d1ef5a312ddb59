/// A failure talking to Redis.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No connection, or it broke or timed out: Redis is down or unreachable.
        case unavailable
        /// Redis answered with an error reply.
        case reply
    }

    /// What an `.unavailable` failure says about Redis.
    public enum Cause: Sendable, Equatable {
        /// No answer in time: Redis is hung, or its host does not answer.
        case timedOut
        /// The server closed this connection (end of file, reset): it may have been idle too long, been
        /// killed (`CLIENT KILL`), or Redis restarted; a new connection may well work.
        case closedByServer
        /// Every pooled connection stayed busy for the pool's wait: says nothing of Redis.
        case poolBusy
        /// Anything else (a refused connect, a protocol error).
        case other
    }

    public let kind: Kind
    public let message: String
    public let cause: Cause

    public init(kind: Kind, message: String, cause: Cause = .other) {
        self.kind = kind
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
