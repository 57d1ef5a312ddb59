import Testing
@testable import AnomalyDetection

@Suite("Cache and storage encodings")
struct CacheEncodingTests {
    @Test func redisURLs() {
        #expect(RedisEndpoint(url: "redis://127.0.0.1:6380") == RedisEndpoint(host: "127.0.0.1", port: 6380))
        #expect(RedisEndpoint(url: "redis://cache") == RedisEndpoint(host: "cache", port: 6379))
        #expect(RedisEndpoint(url: "redis://:secret@cache:7000/2") == RedisEndpoint(host: "cache", port: 7000, password: "secret", database: 2))
        #expect(RedisEndpoint(url: "redis://user:pw@[::1]:7001") == RedisEndpoint(host: "::1", port: 7001, username: "user", password: "pw"))
        #expect(RedisEndpoint(url: "redis://secret@cache") == RedisEndpoint(host: "cache", password: "secret"))
        #expect(RedisEndpoint(url: "redis://app%3A1:p%40ss%3Aw@cache") == RedisEndpoint(host: "cache", username: "app:1", password: "p@ss:w"))
        #expect(RedisEndpoint(url: "redis://app:@cache") == RedisEndpoint(host: "cache", username: "app", password: ""), "an ACL user with an empty password")
        #expect(RedisEndpoint(url: "redis://:@cache") == RedisEndpoint(host: "cache"))
        #expect(RedisEndpoint(url: "redis://app:p%zz@cache") == nil, "not valid percent-encoding")
        #expect(RedisEndpoint(url: "http://cache") == nil)
        #expect(RedisEndpoint(url: "redis://cache:notaport") == nil)
        #expect(RedisEndpoint(url: "redis://cache/x") == nil)
    }

    @Test func announcementsRoundTrip() {
        let model = StoredModel(seriesID: "a.b-c_1", version: 12, model: ThreeSigmaModel(mean: 1, std: 2, threshold: 3, direction: .upper, pointsUsed: 4), trainedAt: "2026-01-01T00:00:00.000Z")
        let parsed = RedisModelCache.parseAnnouncement(RedisModelCache.announcement(model))
        #expect(parsed?.seriesID == "a.b-c_1" && parsed?.version == 12)
        #expect(RedisModelCache.parseAnnouncement("x y") == nil)
        #expect(RedisModelCache.parseAnnouncement("0 y") == nil)
        #expect(RedisModelCache.parseAnnouncement("3 ") == nil)
    }

    @Test func binaryArraysUsePostgresLayout() {
        let (bytes, binary) = PostgresValue.int8Array([1, -1]).encoded
        #expect(binary)
        // ndim 1, no nulls, element oid 20, length 2, lower bound 1, then (length 8, value) pairs, big-endian.
        let expected: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 2, 0, 0, 0, 1,
                                 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1,
                                 0, 0, 0, 8, 255, 255, 255, 255, 255, 255, 255, 255]
        #expect(bytes == expected)
        let (text, textBinary) = PostgresValue.textArray(["ab"]).encoded
        #expect(textBinary && text?.suffix(6) == [0, 0, 0, 2, 97, 98])
        #expect(PostgresValue.double(0.1).encoded.bytes == Array("0.1".utf8))
        #expect(PostgresValue.null.encoded.bytes == nil)
    }

    @Test func histogramsRoundTripThroughTheirRedisForm() {
        var histogram = LatencyStatistics.makeHistogram()
        for microseconds in [3, 3, 250, 1_000, 12_345, 12_345, 12_345] { _ = histogram.record(UInt64(microseconds)) }
        var merged = LatencyStatistics.makeHistogram()
        _ = merged.record(100)
        LatencyStatistics.decode(LatencyStatistics.encode(histogram), into: &merged)
        #expect(merged.totalCount == 8)
        // Values come back within their bucket (two significant digits: 1%).
        #expect(merged.valuesAreEquivalent(merged.valueAtPercentile(99), histogram.valueAtPercentile(99)))
        #expect(merged.valuesAreEquivalent(merged.valueAtPercentile(50), 250))  // 3, 3, 100, 250 | 1000, 12345 ×3
        #expect(merged.valuesAreEquivalent(merged.min, 3))
        LatencyStatistics.decode("garbage 1:x :3", into: &merged)
        #expect(merged.totalCount == 8)
    }

    @Test func latencySummaryIsInMilliseconds() {
        var histogram = LatencyStatistics.makeHistogram()
        for microseconds in 1...100 { _ = histogram.record(UInt64(microseconds * 10)) }
        let summary = LatencyStatistics.summarize(histogram)
        #expect(summary.count == 100)
        #expect(abs(summary.p50 - 0.5) < 0.01)
        #expect(abs(summary.p99 - 0.99) < 0.02)
        #expect(abs(summary.avg - 0.505) < 0.01)
    }
}
