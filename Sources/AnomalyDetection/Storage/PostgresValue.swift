/// A statement parameter. Scalars go as text; arrays go in Postgres's binary array format, which the server
/// reads far faster than array literals (a 1M-point fit sends two arrays of a million elements).
public enum PostgresValue: Sendable {
    case null
    case text(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case int8Array([Int64])
    case float8Array([Double])
    case textArray([String])

    /// The bytes libpq sends, and whether they are binary.
    var encoded: (bytes: [UInt8]?, binary: Bool) {
        switch self {
        case .null: return (nil, false)
        case .text(let value): return (Array(value.utf8), false)
        case .int(let value): return (Array(String(value).utf8), false)
        case .double(let value): return (Array(Self.text(for: value).utf8), false)
        case .bool(let value): return (Array((value ? "t" : "f").utf8), false)
        case .int8Array(let values):
            return (Self.binaryArray(elementType: 20, count: values.count, elementSize: 8) { $0.storeBytes(of: UInt64(bitPattern: values[$1]).bigEndian, as: UInt64.self) }, true)
        case .float8Array(let values):
            return (Self.binaryArray(elementType: 701, count: values.count, elementSize: 8) { $0.storeBytes(of: values[$1].bitPattern.bigEndian, as: UInt64.self) }, true)
        case .textArray(let values):
            var buffer = Self.arrayHeader(elementType: 25, count: values.count, capacity: values.reduce(20) { $0 + 4 + $1.utf8.count })
            for value in values {
                buffer.appendBigEndian(UInt32(value.utf8.count))
                buffer.append(contentsOf: value.utf8)
            }
            return (buffer, true)
        }
    }

    /// Shortest text that reads back as the same Double; Postgres spells the non-finite ones its own way.
    static func text(for value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        return "\(value)"
    }

    /// Fixed-size elements written straight into the buffer: this runs for every prediction logged, on a
    /// thread that shares the CPU with the event loops, so it must be cheap.
    private static func binaryArray(elementType: UInt32, count: Int, elementSize: Int, appendElement: (UnsafeMutableRawPointer, Int) -> Void) -> [UInt8] {
        let header = arrayHeader(elementType: elementType, count: count, capacity: 20)
        let total = header.count + count * (4 + elementSize)
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            let base = UnsafeMutableRawPointer(buffer.baseAddress!)
            header.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: header.count) }
            var offset = header.count
            let length = UInt32(elementSize).bigEndian
            for index in 0..<count {
                base.storeBytes(of: length, toByteOffset: offset, as: UInt32.self)
                appendElement(base + offset + 4, index)
                offset += 4 + elementSize
            }
            initialized = total
        }
    }

    /// One dimension, no nulls, lower bound 1.
    private static func arrayHeader(elementType: UInt32, count: Int, capacity: Int) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(capacity)
        buffer.appendBigEndian(UInt32(1))
        buffer.appendBigEndian(UInt32(0))
        buffer.appendBigEndian(elementType)
        buffer.appendBigEndian(UInt32(count))
        buffer.appendBigEndian(UInt32(1))
        return buffer
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
