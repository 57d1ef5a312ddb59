/// A validated series identifier: 1 to 128 characters from `A-Z a-z 0-9 _ . -`.
public struct SeriesID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// The longest identifier accepted.
    public static let maxLength = 128

    /// - Throws: `ValidationError` naming `series_id` when the text is empty, too long or has another character.
    public init(_ text: String) throws {
        let bytes = text.utf8
        guard !bytes.isEmpty else {
            throw ValidationError(field: "series_id", message: "series_id must not be empty")
        }
        guard bytes.count <= Self.maxLength else {
            throw ValidationError(field: "series_id", message: "series_id is \(bytes.count) characters long; at most \(Self.maxLength) are allowed")
        }
        // Over the contiguous bytes: through `String.UTF8View` the check cost about 60 instructions a byte.
        guard bytes.withContiguousStorageIfAvailable({ $0.allSatisfy(Self.isAllowed) }) ?? bytes.allSatisfy(Self.isAllowed) else {
            throw ValidationError(field: "series_id", message: "series_id may only contain A-Z, a-z, 0-9, '_', '.' and '-'")
        }
        rawValue = text
    }

    public var description: String { rawValue }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
