/// Size limits the request parser enforces; each has its own status when exceeded.
public struct RequestLimits: Sendable, Equatable {
    /// Longest request target accepted; longer is 414.
    public var maxTargetLength: Int
    /// Largest header section (all field lines after the request line); larger is 431.
    public var maxHeaderSectionBytes: Int
    /// Most header fields in one request; more is 431.
    public var maxHeaderCount: Int
    /// Largest body, declared or de-chunked; larger is 413, refused before the body is read.
    public var maxBodyBytes: Int

    /// - Parameters:
    ///   - maxTargetLength: default 8 KiB, as most servers.
    ///   - maxHeaderSectionBytes: default 32 KiB.
    ///   - maxHeaderCount: default 100.
    ///   - maxBodyBytes: default 64 MiB, enough for a one-million-point fit body.
    public init(maxTargetLength: Int = 8 * 1024, maxHeaderSectionBytes: Int = 32 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 64 * 1024 * 1024) {
        self.maxTargetLength = maxTargetLength
        self.maxHeaderSectionBytes = maxHeaderSectionBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }
}

/// Why a request could not be parsed, and the status that says so.
/// After any parse error the byte stream is no longer trustworthy: the connection answers and closes.
public struct RequestParseError: Error, Equatable, Sendable {
    public let status: HTTPStatus
    public let message: String

    init(_ status: HTTPStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    static func malformed(_ message: String) -> RequestParseError { .init(.badRequest, message) }
}

/// What the parser produced from the bytes it has.
public enum RequestParserEvent: Sendable {
    /// A complete request, body included.
    case request(HTTPRequest)
    /// The client sent `Expect: 100-continue` and waits for a `100 Continue` before sending its body.
    case continueExpected
    /// The stream is malformed or over a limit; answer with the error's status, then close.
    case failure(RequestParseError)
}
