/// One header field as received or to be sent.
public struct HTTPField: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An ordered list of header fields. Names compare case-insensitively; repeated fields are kept in order.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [HTTPField]

    public init(_ fields: [HTTPField] = []) {
        self.fields = fields
    }

    /// An empty list with room for `capacity` fields.
    public init(reservingCapacity capacity: Int) {
        self.fields = []
        fields.reserveCapacity(capacity)
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { HTTPField(name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[HTTPField]> {
        fields.makeIterator()
    }

    /// Appends a field, keeping any earlier field of the same name.
    public mutating func add(name: String, value: String) {
        fields.append(HTTPField(name: name, value: value))
    }

    /// Replaces every field named `name` by a single one.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        add(name: name, value: value)
    }

    /// Removes every field named `name`.
    public mutating func remove(name: String) {
        fields.removeAll { Self.namesEqual($0.name, name) }
    }

    /// The first value of the field named `name`, if any.
    public subscript(name: String) -> String? {
        for field in fields where Self.namesEqual(field.name, name) {
            return field.value
        }
        return nil
    }

    /// Every value of the fields named `name`, in the order received.
    public func values(for name: String) -> [String] {
        fields.compactMap { Self.namesEqual($0.name, name) ? $0.value : nil }
    }

    /// Whether any field named `name` holds `token` in its comma-separated list (case-insensitive).
    public func contains(name: String, token: String) -> Bool {
        for value in values(for: name) {
            for part in value.split(separator: ",") where Self.namesEqual(trimmed(part), token) {
                return true
            }
        }
        return false
    }

    /// ASCII case-insensitive comparison, which is what field names and tokens need.
    static func namesEqual<A: StringProtocol, B: StringProtocol>(_ lhs: A, _ rhs: B) -> Bool {
        // Most names differ in length: settle those without walking the bytes.
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        // Native strings (every name parsed or written here) compare as two byte buffers.
        let contiguous = lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right in
                for index in 0..<left.count where left[index] != right[index] && asciiLowercased(left[index]) != asciiLowercased(right[index]) {
                    return false
                }
                return true
            }
        }
        if let contiguous, let equal = contiguous { return equal }
        var left = lhs.utf8.makeIterator()
        var right = rhs.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil):
                return true
            case let (l?, r?):
                if l != r && asciiLowercased(l) != asciiLowercased(r) { return false }
            default:
                return false
            }
        }
    }
}

@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}

/// Trims optional whitespace (space and tab), as header values and list elements allow.
func trimmed(_ text: Substring) -> Substring {
    // Byte by byte: space and tab are ASCII, and walking Characters would segment graphemes for nothing.
    let bytes = text.utf8
    var start = bytes.startIndex
    var end = bytes.endIndex
    while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start = bytes.index(after: start) }
    while end > start, bytes[bytes.index(before: end)] == 0x20 || bytes[bytes.index(before: end)] == 0x09 { end = bytes.index(before: end) }
    return text[start..<end]
}
