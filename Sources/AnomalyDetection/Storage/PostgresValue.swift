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
    case int4Array([Int32])
    case float4Array([Float])
    case boolArray([Bool])
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
            return (Self.binaryArray(elementType: 20, count: values.count, elementSize: 8) { buffer, index in buffer.appendBigEndian(UInt64(bitPattern: values[index])) }, true)
        case .float8Array(let values):
            return (Self.binaryArray(elementType: 701, count: values.count, elementSize: 8) { buffer, index in buffer.appendBigEndian(values[index].bitPattern) }, true)
        case .int4Array(let values):
            return (Self.binaryArray(elementType: 23, count: values.count, elementSize: 4) { buffer, index in buffer.appendBigEndian(UInt32(bitPattern: values[index])) }, true)
        case .float4Array(let values):
            return (Self.binaryArray(elementType: 700, count: values.count, elementSize: 4) { buffer, index in buffer.appendBigEndian(values[index].bitPattern) }, true)
        case .boolArray(let values):
            return (Self.binaryArray(elementType: 16, count: values.count, elementSize: 1) { buffer, index in buffer.append(values[index] ? 1 : 0) }, true)
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

    private static func binaryArray(elementType: UInt32, count: Int, elementSize: Int, appendElement: (inout [UInt8], Int) -> Void) -> [UInt8] {
        var buffer = arrayHeader(elementType: elementType, count: count, capacity: 20 + count * (4 + elementSize))
        for index in 0..<count {
            buffer.appendBigEndian(UInt32(elementSize))
            appendElement(&buffer, index)
        }
        return buffer
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
