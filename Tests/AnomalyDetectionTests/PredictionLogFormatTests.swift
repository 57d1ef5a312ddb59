import Testing
@testable import AnomalyDetection

@Suite("Prediction-log record format")
struct PredictionLogFormatTests {
    private func encode(_ records: [PredictionRecord]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xAA, count: records.count * PredictionLogFormat.recordSize)
        bytes.withUnsafeMutableBytes { buffer in
            for (position, record) in records.enumerated() {
                PredictionLogFormat.write(record, to: buffer, at: position * PredictionLogFormat.recordSize)
            }
        }
        return bytes
    }

    @Test("The layout is the documented one: big-endian int8, float8, a byte, float8, float4")
    func layoutMatchesPostgresSendFunctions() {
        let bytes = encode([PredictionRecord(seriesID: "s", version: 1, timestamp: 1, value: 1.0, anomaly: true, zScore: -2.0, latencyMicroseconds: 1.5)])
        // int8send(1), float8send(1.0), 0x01, float8send(-2.0), float4send(1.5): what migration 6 writes for the same row.
        let expected: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1,
                                 0x3F, 0xF0, 0, 0, 0, 0, 0, 0,
                                 1,
                                 0xC0, 0, 0, 0, 0, 0, 0, 0,
                                 0x3F, 0xC0, 0, 0]
        #expect(bytes == expected)
    }

    @Test("Every field round-trips bit for bit, extremes included")
    func extremesRoundTrip() {
        let records = [
            PredictionRecord(seriesID: "s", version: 1, timestamp: .min, value: -.greatestFiniteMagnitude, anomaly: false,
                             zScore: .leastNonzeroMagnitude, latencyMicroseconds: .greatestFiniteMagnitude),
            PredictionRecord(seriesID: "s", version: 1, timestamp: .max, value: -0.0, anomaly: true, zScore: .infinity, latencyMicroseconds: 0),
            PredictionRecord(seriesID: "s", version: 1, timestamp: -1, value: 0.1, anomaly: true, zScore: -3.25, latencyMicroseconds: .leastNonzeroMagnitude),
        ]
        let entries = PredictionLogFormat.decode(encode(records))
        #expect(entries.count == 3)
        for (entry, record) in zip(entries, records) {
            #expect(entry.timestamp == record.timestamp && entry.anomaly == record.anomaly)
            #expect(entry.value.bitPattern == record.value.bitPattern && entry.zScore.bitPattern == record.zScore.bitPattern)
            #expect(entry.latencyMicroseconds.bitPattern == record.latencyMicroseconds.bitPattern)
        }
    }

    @Test func partialTrailingRecordIsIgnored() {
        let one = encode([PredictionRecord(seriesID: "s", version: 1, timestamp: 7, value: 1, anomaly: false, zScore: 0, latencyMicroseconds: 1)])
        #expect(PredictionLogFormat.decode(one + [1, 2, 3]).map(\.timestamp) == [7])
        #expect(PredictionLogFormat.decode(Array(one.prefix(28))).isEmpty)
        #expect(PredictionLogFormat.decode([]).isEmpty)
    }

    @Test("bytea columns are read from Postgres's hex text form; anything else is an error")
    func byteaTextIsDecoded() throws {
        let row = PostgresRow(columns: ["b", "empty", "bad", "odd", "escape"], values: [#"\x00ff10Ab"#, #"\x"#, #"\xzz"#, #"\x0"#, "abc"])
        #expect(try row.bytes("b") == [0, 255, 16, 171])
        #expect(try row.bytes("empty") == [])
        for column in ["bad", "odd", "escape", "missing"] {
            #expect(throws: PostgresError.self) { try row.bytes(column) }
        }
    }
}
