/// A failure talking to Redis.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No connection, or it broke or timed out: Redis is down or unreachable.
        case unavailable
        /// Redis answered with an error reply.
        case reply
    }

    public let kind: Kind
    public let message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
