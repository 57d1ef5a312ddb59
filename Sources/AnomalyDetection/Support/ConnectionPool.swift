import Foundation

/// A bounded pool of connections that each serve one thread at a time. Connections are made lazily, up to
/// `capacity`; one that reports itself unhealthy after use is dropped, so the next caller reconnects.
public final class ConnectionPool<Connection: AnyObject>: @unchecked Sendable {
    public typealias Factory = @Sendable () throws -> Connection

    private let capacity: Int
    private let waitTimeout: TimeInterval
    private let makeConnection: Factory
    private let isHealthy: @Sendable (Connection) -> Bool
    private let unavailable: @Sendable (String) -> any Error
    private let condition = NSCondition()
    private var idle: [Connection] = []
    private var open = 0

    /// - Parameters:
    ///   - capacity: the most connections open at once.
    ///   - waitTimeout: how long a caller waits for a busy pool before `unavailable` is thrown.
    ///   - makeConnection: connects; its error is rethrown to the caller.
    ///   - isHealthy: checked when a connection comes back.
    ///   - unavailable: the error for a pool that stayed busy too long.
    public init(
        capacity: Int,
        waitTimeout: TimeInterval = 5,
        makeConnection: @escaping Factory,
        isHealthy: @escaping @Sendable (Connection) -> Bool,
        unavailable: @escaping @Sendable (String) -> any Error
    ) {
        self.capacity = max(1, capacity)
        self.waitTimeout = waitTimeout
        self.makeConnection = makeConnection
        self.isHealthy = isHealthy
        self.unavailable = unavailable
    }

    /// Runs `body` with a connection of its own.
    /// - Throws: the factory's error when no connection can be made, `unavailable` when the pool stayed
    ///   busy, or whatever `body` throws.
    public func withConnection<Result>(_ body: (Connection) throws -> Result) throws -> Result {
        let connection = try acquire()
        defer { release(connection) }
        return try body(connection)
    }

    /// Closes the idle connections; busy ones close when they come back unhealthy or the pool goes away.
    public func drainIdle() {
        condition.lock()
        let closing = idle
        idle.removeAll()
        open -= closing.count
        condition.broadcast()
        condition.unlock()
        _ = closing
    }

    private func acquire() throws -> Connection {
        let deadline = Date(timeIntervalSinceNow: waitTimeout)
        condition.lock()
        while idle.isEmpty && open >= capacity {
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw unavailable("all \(capacity) connections stayed busy for \(waitTimeout) s")
            }
        }
        if let connection = idle.popLast() {
            condition.unlock()
            return connection
        }
        open += 1
        condition.unlock()
        do {
            return try makeConnection()
        } catch {
            condition.lock()
            open -= 1
            condition.signal()
            condition.unlock()
            throw error
        }
    }

    private func release(_ connection: Connection) {
        let healthy = isHealthy(connection)
        condition.lock()
        if healthy {
            idle.append(connection)
        } else {
            open -= 1
        }
        condition.signal()
        condition.unlock()
    }
}
