/// A model version of one series: consecutive from 1, spelled `v3` in responses.
public struct ModelVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let number: Int

    public init(_ number: Int) {
        self.number = number
    }

    /// Parses `v3` or `3`.
    /// - Throws: `ValidationError` naming `version` for anything else (0, negatives, leading zeros).
    public init(parsing text: Substring) throws {
        let digits = text.first == "v" || text.first == "V" ? text.dropFirst() : text
        guard !digits.isEmpty, digits.utf8.count <= 9, digits.first != "0", digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let number = Int(digits), number >= 1 else {
            throw ValidationError(field: "version", message: "version must look like 'v3' or '3' (a positive integer), got '\(text)'")
        }
        self.number = number
    }

    public var description: String { "v\(number)" }

    public static func < (lhs: ModelVersion, rhs: ModelVersion) -> Bool { lhs.number < rhs.number }
}
