/// JSON text written byte by byte into an array, for the few bodies on the hot path that skip `JSONEncoder`.
/// Numbers go straight from the standard library's stack buffer into the array (`_writeASCII`, the hook it
/// uses for every `TextOutputStream`): `description` would first make them a String, a heap allocation for
/// anything longer than 15 characters, which most z-scores and bounds are.
struct JSONBytes: TextOutputStream {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends text as it is: strings known to need no escaping.
    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends literal text (keys, punctuation) with one copy: a literal's bytes are contiguous and need no
    /// walk through a String's UTF-8 view.
    mutating func append(literal text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends JSON written earlier.
    mutating func append(bytes other: [UInt8]) {
        bytes.append(contentsOf: other)
    }

    /// A JSON number: integral values without a fraction (as JSONEncoder writes them), the shortest
    /// round-tripping text otherwise; beyond Double's range (a z-score can overflow) it is clamped, and NaN,
    /// which JSON cannot say, is written as 0.
    mutating func append(number: Double) {
        let finite = number.isNaN ? 0 : min(max(number, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
        if finite == finite.rounded(), abs(finite) < 1e15 {
            append(integer: Int64(finite))
        } else {
            finite.write(to: &self)
        }
    }

    /// A JSON integer, its digits written backwards into a buffer on the stack: `String(integer)` and its
    /// UTF-8 view cost about 550 instructions here, a third of the answer's.
    mutating func append(integer: Int64) {
        var magnitude = integer.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if integer < 0 { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    mutating func write(_ string: String) {
        bytes.append(contentsOf: string.utf8)
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: buffer)
    }
}
