extension PredictionColumns {
    /// Column order of the COPY that `copyTuples` feeds.
    static let copyColumns = "series_id, version, count, anomaly_count, records"

    /// The binary COPY format's header: signature, flags, header-extension length.
    static let copyHeader: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    /// The binary COPY format's trailer: a tuple of -1 fields.
    static let copyTrailer: [UInt8] = [0xFF, 0xFF]

    /// The rows as tuples of Postgres's binary COPY format, in `copyColumns` order: per tuple a 16-bit field
    /// count, then per field a 32-bit length and the value in its binary form (text as UTF-8, integers
    /// big-endian, bytea as is).
    func copyTuples() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.reduce(0) { $0 + $1.count } + seriesIDs.count * 64)
        for row in seriesIDs.indices {
            bytes.appendBigEndian(UInt16(5))
            let seriesID = seriesIDs[row].utf8
            bytes.appendBigEndian(UInt32(seriesID.count))
            bytes.append(contentsOf: seriesID)
            for value in [versions[row], counts[row], anomalyCounts[row]] {
                bytes.appendBigEndian(UInt32(4))
                bytes.appendBigEndian(UInt32(bitPattern: value))
            }
            bytes.appendBigEndian(UInt32(records[row].count))
            bytes.append(contentsOf: records[row])
        }
        return bytes
    }
}
