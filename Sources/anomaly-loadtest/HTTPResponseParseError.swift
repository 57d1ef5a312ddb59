/// Why a byte stream is not a well-formed HTTP/1.x response.
enum HTTPResponseParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first line is not `HTTP/1.x NNN reason`.
    case malformedStatusLine
    /// A header line has no colon, or a name that is not a token.
    case malformedHeader
    /// The status line and headers exceed the parser's limit without ending.
    case headTooLarge
    /// `Content-Length` is not a number, or several disagree.
    case invalidContentLength
    /// A chunk-size line or chunk terminator of a chunked body is malformed.
    case invalidChunk
    /// The stream ended before the response was complete.
    case truncated

    var description: String {
        switch self {
        case .malformedStatusLine: "malformed status line"
        case .malformedHeader: "malformed header line"
        case .headTooLarge: "response head too large"
        case .invalidContentLength: "invalid Content-Length"
        case .invalidChunk: "invalid chunked encoding"
        case .truncated: "connection closed before the response was complete"
        }
    }
}
