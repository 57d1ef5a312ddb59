/// An HTTP request method: a case-sensitive token (RFC 9110 §9.1).
public struct HTTPMethod: Hashable, Sendable, CustomStringConvertible {
    /// The method token as sent on the request line.
    public let rawValue: String

    /// Creates a method from its token; the parser has already checked the token characters.
    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static let get = HTTPMethod("GET")
    public static let head = HTTPMethod("HEAD")
    public static let post = HTTPMethod("POST")
    public static let put = HTTPMethod("PUT")
    public static let patch = HTTPMethod("PATCH")
    public static let delete = HTTPMethod("DELETE")
    public static let options = HTTPMethod("OPTIONS")
}
