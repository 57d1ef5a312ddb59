/// Finds `"anomaly": true` in a predict response without parsing the JSON.
///
/// The hot path only needs one boolean per response, so it scans for the key and looks at the
/// token after the colon, tolerating the whitespace a pretty-printing server might add.
enum AnomalyFlagScanner {
    private static let key = Array(#""anomaly""#.utf8)
    private static let trueLiteral = Array("true".utf8)

    /// Whether the body holds the key `"anomaly"` with the value `true`.
    /// - Parameter body: a response body, typically a small JSON object.
    /// - Returns: `true` only for a `true` literal; `false`, a missing key or another value give `false`.
    static func containsTrueFlag(_ body: [UInt8]) -> Bool {
        body.withUnsafeBufferPointer { bytes in
            var start = 0
            while let found = firstMatch(of: key, in: bytes, from: start) {
                var index = found + key.count
                skipWhitespace(bytes, &index)
                if index < bytes.count && bytes[index] == UInt8(ascii: ":") {
                    index += 1
                    skipWhitespace(bytes, &index)
                    return matches(trueLiteral, in: bytes, at: index)
                }
                start = found + 1
            }
            return false
        }
    }

    private static func firstMatch(of pattern: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard bytes.count >= pattern.count, start <= bytes.count - pattern.count else { return nil }
        let first = pattern[0]
        for index in start...(bytes.count - pattern.count) where bytes[index] == first {
            if matches(pattern, in: bytes, at: index) { return index }
        }
        return nil
    }

    private static func matches(_ pattern: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        guard index + pattern.count <= bytes.count else { return false }
        for offset in 0..<pattern.count where bytes[index + offset] != pattern[offset] {
            return false
        }
        return true
    }

    private static func skipWhitespace(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): index += 1
            default: return
            }
        }
    }
}
