import Foundation

/// A coarse latency histogram that adds up across processes and minutes: bucket `i` holds latencies up to
/// 2^((i+1)/4) µs (four buckets per doubling, so a percentile read from it is at most 19% high), which is
/// what the per-minute charts need and what Postgres can merge by adding arrays element-wise.
public struct LatencyBuckets: Sendable, Equatable {
    public static let count = 100

    public private(set) var counts: [Int64]

    public init() {
        counts = Array(repeating: 0, count: Self.count)
    }

    /// Counts as read back from storage; missing buckets are zero, extra ones are ignored.
    public init(counts: [Int64]) {
        var padded = Array(counts.prefix(Self.count))
        padded.append(contentsOf: repeatElement(0, count: Self.count - padded.count))
        self.counts = padded
    }

    public var total: Int64 { counts.reduce(0, +) }

    /// The bucket of a latency (anything under 1 µs goes to the first one, anything beyond range to the last).
    public static func index(microseconds: Double) -> Int {
        guard microseconds > 1 else { return 0 }
        let position = (4 * log2(microseconds)).rounded(.up) - 1
        return Int(min(max(position, 0), Double(count - 1)))
    }

    /// The largest latency bucket `index` holds.
    public static func upperBound(_ index: Int) -> Double {
        pow(2, Double(index + 1) / 4)
    }

    public mutating func record(microseconds: Double) {
        counts[Self.index(microseconds: microseconds)] += 1
    }

    public mutating func add(_ other: LatencyBuckets) {
        for index in counts.indices { counts[index] += other.counts[index] }
    }

    /// The upper bound of the bucket holding the `quantile` (0...1) latency, in µs; nil when empty.
    public func percentile(_ quantile: Double) -> Double? {
        let total = self.total
        guard total > 0 else { return nil }
        let rank = Int64((quantile * Double(total)).rounded(.up))
        var seen: Int64 = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= max(rank, 1) { return Self.upperBound(index) }
        }
        return Self.upperBound(Self.count - 1)
    }
}
