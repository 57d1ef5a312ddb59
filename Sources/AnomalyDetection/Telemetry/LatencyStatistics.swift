import Foundation
import Histogram
import Logging
import Synchronization

/// Request handling times in HDR histograms, shared through Redis so that every service can report the
/// whole system's figures: each process publishes its histograms every second under its own key (expiring
/// 30 s after its last publication) and the readers merge every live process's histograms.
///
/// Window: from each running process's start; a process that stopped drops out 30 s later.
public final class LatencyStatistics: Sendable {
    /// What was timed.
    public enum Kind: String, Sendable, CaseIterable {
        case inference
        case training
    }

    /// What `/healthcheck` shows for one kind, in milliseconds.
    public struct Summary: Codable, Sendable, Equatable {
        public var avg: Double
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var max: Double
        public var count: Int
    }

    /// A fresh histogram: 1 µs to 10 min, two significant digits (1% error), about 3,000 counters.
    static func makeHistogram() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .two)
        histogram.autoResize = true
        return histogram
    }

    /// This process's name in Redis.
    public let instanceID: String
    /// One lock per kind: predicts and fits never wait on each other.
    private let inference = Mutex(makeHistogram())
    private let training = Mutex(makeHistogram())
    private let stopped = Atomic<Bool>(false)

    public init(service: String) {
        instanceID = "\(service)-\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Records one handling time.
    public func record(_ kind: Kind, microseconds: UInt64) {
        let value = Swift.max(1, microseconds)
        switch kind {
        case .inference: inference.withLock { _ = $0.record(value) }
        case .training: training.withLock { _ = $0.record(value) }
        }
    }

    private func snapshot(_ kind: Kind) -> Histogram<UInt64> {
        switch kind {
        case .inference: inference.withLock { $0 }
        case .training: training.withLock { $0 }
        }
    }

    /// This process's figures only.
    public func localSummary(_ kind: Kind) -> Summary {
        Self.summarize(snapshot(kind))
    }

    static func key(_ kind: Kind, _ instance: String) -> String { "ad:latency:\(kind.rawValue):\(instance)" }
    static func instancesKey(_ kind: Kind) -> String { "ad:latency-instances:\(kind.rawValue)" }

    /// Publishes this process's histograms every `interval` seconds on a thread of its own.
    public func startPublishing(to redis: RedisClient, interval: TimeInterval = 1, logger: Logger) {
        BackgroundThread.start(name: "latency-publisher") { [self] in
            while !stopped.load(ordering: .relaxed) {
                do {
                    try publish(to: redis)
                } catch {
                    logger.debug("latency figures not published", metadata: ["error": "\(error)"])
                }
                Thread.sleep(forTimeInterval: interval)
            }
        }
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Writes this process's non-empty histograms to Redis.
    public func publish(to redis: RedisClient) throws {
        var commands: [[String]] = []
        for kind in Kind.allCases {
            let histogram = snapshot(kind)
            guard histogram.totalCount > 0 else { continue }
            let payload = Self.encode(histogram)
            commands.append(["SET", Self.key(kind, instanceID), payload, "EX", "30"])
            commands.append(["SADD", Self.instancesKey(kind), instanceID])
        }
        if !commands.isEmpty { _ = try redis.run(commands) }
    }

    /// Every live process's figures merged, this process's own included even when not yet published.
    /// - Throws: `RedisError` when Redis cannot be read (callers fall back to `localSummary`).
    public func systemWideSummary(_ kind: Kind, redis: RedisClient) throws -> Summary {
        let members = try redis.command(["SMEMBERS", Self.instancesKey(kind)]).elements.compactMap(\.text)
        var merged = snapshot(kind)
        let others = members.filter { $0 != instanceID }
        guard !others.isEmpty else { return Self.summarize(merged) }
        let values = try redis.command(["MGET"] + others.map { Self.key(kind, $0) }).elements
        var expired: [String] = []
        for (instance, value) in zip(others, values) {
            guard case .string(let bytes) = value else {
                expired.append(instance)
                continue
            }
            Self.decode(String(decoding: bytes, as: UTF8.self), into: &merged)
        }
        if !expired.isEmpty { _ = try? redis.command(["SREM", Self.instancesKey(kind)] + expired) }
        return Self.summarize(merged)
    }

    /// The recorded buckets only, as `value:count` pairs separated by spaces: a few dozen pairs instead of the
    /// whole counts array, so that publishing every second costs next to nothing on the CPU the loops use.
    static func encode(_ histogram: Histogram<UInt64>) -> String {
        histogram.recordedValues().map { "\($0.value):\($0.countAddedInThisIterationStep)" }.joined(separator: " ")
    }

    /// Adds what `encode` wrote to `histogram`; malformed pairs are skipped.
    static func decode(_ text: String, into histogram: inout Histogram<UInt64>) {
        for pair in text.split(separator: " ") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let value = UInt64(parts[0]), let count = UInt64(parts[1]), count > 0 else { continue }
            _ = histogram.record(value, count: count)
        }
    }

    static func summarize(_ histogram: Histogram<UInt64>) -> Summary {
        guard histogram.totalCount > 0 else { return Summary(avg: 0, p50: 0, p95: 0, p99: 0, max: 0, count: 0) }
        func milliseconds(_ microseconds: Double) -> Double { (microseconds / 1000 * 1000).rounded() / 1000 }
        return Summary(
            avg: milliseconds(histogram.mean),
            p50: milliseconds(Double(histogram.valueAtPercentile(50))),
            p95: milliseconds(Double(histogram.valueAtPercentile(95))),
            p99: milliseconds(Double(histogram.valueAtPercentile(99))),
            max: milliseconds(Double(histogram.max)),
            count: Int(histogram.totalCount)
        )
    }
}
