import Foundation
import Glibc
import Testing
@testable import AnomalyDetection

/// `RedisClient` against a real `redis-server` on a free port: what opens the breaker, and what a fit's
/// announcement (`runInsisting`) does where an ordinary call gives up.
@Suite("Redis client", .serialized)
struct RedisClientTests {
    private func client(_ redis: LatestVersionTrackerTests.Redis, poolSize: Int = 1, poolWaitMilliseconds: Int? = nil) -> RedisClient {
        signal(SIGPIPE, SIG_IGN)  // as the services do: a write to a connection Redis closed must not end the process
        var configuration = RedisClient.Configuration(endpoint: redis.endpoint)
        configuration.poolSize = poolSize
        configuration.timeoutMilliseconds = 3_000
        configuration.poolWaitMilliseconds = poolWaitMilliseconds
        return RedisClient(configuration: configuration)
    }

    @Test("A busy pool: an ordinary call gives up without opening the breaker; an announcement uses a connection of its own")
    func busyPool() throws {
        let redis = try LatestVersionTrackerTests.Redis()
        let client = client(redis, poolWaitMilliseconds: 100)
        let holding = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            holding.signal()
            _ = try? client.command(["BLPOP", "never-filled", "1"])  // holds the only pooled connection for 1 s
        }
        holding.wait()
        usleep(100_000)
        let busy = #expect(throws: RedisError.self) { try client.command(["PING"]) }
        #expect(busy?.cause == .poolBusy)
        #expect(!client.isBackingOff, "a busy pool says nothing of Redis")
        #expect(try client.runInsisting([["PING"]]) == [.status("PONG")])
    }

    @Test("A pooled connection Redis closed: the next ordinary call reconnects; an announcement retries at once")
    func connectionClosedByRedis() throws {
        let redis = try LatestVersionTrackerTests.Redis()
        let client = client(redis, poolSize: 2)
        #expect(try client.command(["CLIENT", "SETNAME", "pooled"]) == .status("OK"))
        let killer = try RedisConnection(endpoint: redis.endpoint)
        #expect(try killer.command(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]) == .integer(1))
        #expect(try client.runInsisting([["PING"]]) == [.status("PONG")])
        #expect(!client.isBackingOff)

        #expect(try killer.command(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]) == .integer(1))
        let closed = #expect(throws: RedisError.self) { try client.command(["PING"]) }
        #expect(closed?.cause == .closedByServer)
        #expect(!client.isBackingOff, "a connection Redis closed says nothing of Redis now")
        #expect(try client.command(["PING"]) == .status("PONG"))
    }

    @Test("A refused connect opens the breaker; an announcement still tries past it")
    func refusedConnect() throws {
        let redis = try LatestVersionTrackerTests.Redis()
        let client = client(redis)
        redis.signal(SIGKILL)
        usleep(100_000)
        let refused = #expect(throws: RedisError.self) { try client.command(["PING"]) }
        #expect(refused?.cause == .other && client.isBackingOff)
        let skipped = #expect(throws: RedisError.self) { try client.command(["PING"]) }
        #expect(skipped?.message.contains("retrying shortly") == true, "an ordinary call skips Redis while the breaker is open")
        let tried = #expect(throws: RedisError.self) { try client.runInsisting([["PING"]]) }
        #expect(tried?.message.contains("cannot connect") == true, "an announcement tried to connect: \(String(describing: tried))")
    }
}
