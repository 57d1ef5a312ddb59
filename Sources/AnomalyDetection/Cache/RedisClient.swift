import Foundation
import Synchronization

/// Redis for many threads: a small pool of connections, and a breaker that, after a failure, answers
/// "unavailable" at once for a short while instead of letting every request wait on a dead server.
public final class RedisClient: Sendable {
    /// How to reach Redis and how patiently.
    public struct Configuration: Sendable {
        public var endpoint: RedisEndpoint
        /// The most connections this process opens.
        public var poolSize: Int = 8
        /// Connect and command timeout.
        public var timeoutMilliseconds: Int = 500
        /// How long to skip Redis after it failed.
        public var backoffMilliseconds: Int = 500
        /// How long a caller waits for a busy pool (nil: the command timeout).
        public var poolWaitMilliseconds: Int?

        public init(endpoint: RedisEndpoint) {
            self.endpoint = endpoint
        }
    }

    public let configuration: Configuration
    private let pool: ConnectionPool<RedisConnection>
    /// Monotonic milliseconds until which Redis is considered down.
    private let downUntil = Atomic<Int64>(0)
    /// Whether the failure that opened the breaker was a timeout.
    private let openedByTimeout = Atomic<Bool>(false)

    public init(configuration: Configuration) {
        self.configuration = configuration
        pool = ConnectionPool(
            capacity: configuration.poolSize,
            waitTimeout: Double(configuration.poolWaitMilliseconds ?? configuration.timeoutMilliseconds) / 1000,
            makeConnection: { try RedisConnection(endpoint: configuration.endpoint, timeoutMilliseconds: configuration.timeoutMilliseconds) },
            isHealthy: { $0.isHealthy },
            unavailable: { RedisError(kind: .unavailable, message: "Redis pool exhausted: \($0)", cause: .poolBusy) }
        )
    }

    /// Whether the last attempt failed recently (so calls are being skipped).
    public var isBackingOff: Bool { downUntil.load(ordering: .relaxed) > MonotonicClock.milliseconds }

    /// Runs one command.
    /// - Throws: `RedisError.unavailable` when Redis is down (at once while backing off), `.reply` for an error reply.
    @discardableResult
    public func command(_ arguments: [String]) throws -> RedisReply {
        try run([arguments])[0]
    }

    /// Runs several commands one after the other on one connection and returns their replies in order.
    @discardableResult
    public func run(_ commands: [[String]]) throws -> [RedisReply] {
        guard !isBackingOff else {
            throw RedisError(kind: .unavailable, message: "Redis is unavailable (retrying shortly)")
        }
        return try runOnPool(commands)
    }

    /// Runs commands that must reach Redis whenever it is up (a fit's announcement, which another process may be
    /// waiting for on a healthy subscription). A pooled connection that Redis had closed while idle (its client
    /// `timeout`, `CLIENT KILL`, a restart) is followed by one more try on a fresh one, and a pool that stayed
    /// busy by a try on a connection of its own (made and closed here, outside the pool). The breaker is passed
    /// unless a timeout opened it: a hung or unreachable Redis has silenced the subscriptions too, whose
    /// processes then stop trusting their memory, so the announcement is not needed and each fit is spared
    /// another timeout. A refused connect (Redis restarting) costs nothing to try past, and Redis may be back
    /// with the subscriptions already renewed.
    /// - Throws: `RedisError.unavailable` when Redis cannot be reached, `.reply` for an error reply.
    @discardableResult
    public func runInsisting(_ commands: [[String]]) throws -> [RedisReply] {
        if isBackingOff && openedByTimeout.load(ordering: .relaxed) {
            throw RedisError(kind: .unavailable, message: "Redis is not answering (retrying shortly)", cause: .timedOut)
        }
        do {
            return try runOnPool(commands)
        } catch let error as RedisError where error.cause == .closedByServer {
            return try runOnPool(commands)  // the pool was drained: a fresh connection
        } catch let error as RedisError where error.cause == .poolBusy {
            let connection = try RedisConnection(endpoint: configuration.endpoint, timeoutMilliseconds: configuration.timeoutMilliseconds)
            return try Self.checked(commands.map { try connection.command($0) })
        }
    }

    private func runOnPool(_ commands: [[String]]) throws -> [RedisReply] {
        do {
            return try Self.checked(pool.withConnection { connection in
                try commands.map { try connection.command($0) }
            })
        } catch let error as RedisError where error.kind == .unavailable {
            // A connection the server closed, or a busy pool, says nothing of Redis now: no breaker.
            if error.cause == .poolBusy { throw error }
            pool.drainIdle()
            if error.cause != .closedByServer {
                openedByTimeout.store(error.cause == .timedOut, ordering: .relaxed)
                downUntil.store(MonotonicClock.milliseconds + Int64(configuration.backoffMilliseconds), ordering: .relaxed)
            }
            throw error
        }
    }

    /// The replies, or the first error reply thrown.
    private static func checked(_ replies: [RedisReply]) throws -> [RedisReply] {
        for reply in replies {
            if case .error(let message) = reply { throw RedisError(kind: .reply, message: message) }
        }
        return replies
    }

    /// Forgets a recent failure, e.g. once the subscription reconnected.
    public func resetBackoff() {
        downUntil.store(0, ordering: .relaxed)
    }
}

/// Milliseconds on the monotonic clock.
public enum MonotonicClock {
    public static var milliseconds: Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    public static var nanoseconds: UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
