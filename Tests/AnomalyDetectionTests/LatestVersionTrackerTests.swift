import Foundation
import Glibc
import Logging
import Testing
@testable import AnomalyDetection

/// The subscription watchdog against a real `redis-server` on a free port.
@Suite("Latest-version tracker watchdog", .serialized)
struct LatestVersionTrackerTests {
    /// A redis-server of its own, stopped when the test ends.
    final class Redis {
        let process = Process()
        let port: Int

        init() throws {
            port = try Self.freePort()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
            process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            for _ in 0..<100 {
                if (try? RedisConnection(endpoint: endpoint, timeoutMilliseconds: 200)) != nil { return }
                usleep(20_000)
            }
            throw RedisError(kind: .unavailable, message: "redis-server did not start on port \(port)")
        }

        var endpoint: RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            var status: Int32 = 0
            waitpid(process.processIdentifier, &status, 0)
        }

        private static func freePort() throws -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard bound else { throw RedisError(kind: .unavailable, message: "no free port") }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }

    /// A server that speaks just enough Redis for a subscription: it confirms SUBSCRIBE and answers every PING
    /// with an error, as Redis does while it loads its data after a restart (`-LOADING`).
    final class LoadingRedis: @unchecked Sendable {
        let port: Int
        private let listener: Int32

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let listening = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard listening else {
                close(fd)
                throw RedisError(kind: .unavailable, message: "cannot listen")
            }
            listener = fd
            port = Int(UInt16(bigEndian: address.sin_port))
            Thread.detachNewThread {
                while true {
                    let client = accept(fd, nil, nil)
                    guard client >= 0 else { return }
                    Thread.detachNewThread { Self.serve(client) }
                }
            }
        }

        var endpoint: RedisEndpoint { RedisEndpoint(host: "127.0.0.1", port: port) }

        private static func serve(_ client: Int32) {
            defer { close(client) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { return }
                let text = String(decoding: buffer[..<count], as: UTF8.self)
                var reply = ""
                if text.contains("SUBSCRIBE") { reply += "*3\r\n$9\r\nsubscribe\r\n$16\r\nad:model-updates\r\n:1\r\n" }
                for _ in 0..<text.components(separatedBy: "PING").count - 1 {
                    reply += "-LOADING Redis is loading the dataset in memory\r\n"
                }
                let bytes = Array(reply.utf8)
                guard bytes.withUnsafeBytes({ send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else { return }
            }
        }

        deinit {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    @Test("Error replies to its PINGs (Redis loading after a restart) are no sign of life: memory stops being trusted")
    func errorRepliesDoNotKeepMemoryTrusted() throws {
        let redis = try LoadingRedis()
        let tracker = LatestVersionTracker(endpoint: redis.endpoint, pingIntervalMilliseconds: 50, silenceLimitMilliseconds: 200,
                                           logger: Logger(label: "test"))
        tracker.start()
        defer { tracker.stop() }
        let epoch = try #require(tracker.currentEpoch())
        tracker.confirm("s", version: 7, epoch: epoch)
        #expect(tracker.knowledge(of: "s") == .latest(7))  // just subscribed: heard from within the limit
        var answer = LatestVersionTracker.Knowledge.latest(7)
        for _ in 0..<100 where answer != .unknown {  // the upkeep thread's PINGs all get -LOADING
            usleep(10_000)
            answer = tracker.knowledge(of: "s")
        }
        #expect(answer == .unknown, "memory still trusted a second after the last real answer")
    }

    /// A tracker whose upkeep thread never pings within the test (as if it were starved), with one series confirmed.
    private func trackerWithoutUpkeep(_ redis: Redis) throws -> LatestVersionTracker {
        let tracker = LatestVersionTracker(endpoint: redis.endpoint, pingIntervalMilliseconds: 60_000, silenceLimitMilliseconds: 200,
                                           logger: Logger(label: "test"))
        tracker.start()
        let epoch = try #require(tracker.currentEpoch())
        tracker.confirm("s", version: 7, epoch: epoch)
        #expect(tracker.knowledge(of: "s") == .latest(7))
        return tracker
    }

    @Test("Silence because no PING went out: memory waits for one answer, then is trusted again, not forgotten")
    func lateUpkeepDoesNotDropTheSubscription() throws {
        let redis = try Redis()
        let tracker = try trackerWithoutUpkeep(redis)
        defer { tracker.stop() }
        usleep(300_000)  // past the silence limit, nothing sent, nothing heard
        #expect(tracker.knowledge(of: "s") == .unknown)  // not trusted: this drain asks Redis
        var answer = LatestVersionTracker.Knowledge.unknown
        for _ in 0..<50 where answer == .unknown {
            usleep(2_000)
            answer = tracker.knowledge(of: "s")
        }
        #expect(answer == .latest(7))
        #expect(tracker.isSubscribed)
    }

    @Test("A PING unanswered past the limit (Redis stopped) drops the subscription and what it taught")
    func hungRedisDropsTheSubscription() throws {
        let redis = try Redis()
        let tracker = try trackerWithoutUpkeep(redis)
        defer { tracker.stop() }
        redis.signal(SIGSTOP)
        usleep(300_000)
        #expect(tracker.knowledge(of: "s") == .unknown)  // sends a PING that nobody answers
        #expect(tracker.isSubscribed)
        usleep(300_000)
        #expect(tracker.knowledge(of: "s") == .unknown)
        #expect(!tracker.isSubscribed)
        redis.signal(SIGCONT)
    }
}
