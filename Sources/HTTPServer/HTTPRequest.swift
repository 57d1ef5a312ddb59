/// A complete HTTP/1.x request: head and de-chunked body.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request target exactly as sent (origin-form after any absolute-form prefix was removed).
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Path parameters captured by the router, percent-decoded (`series_id` for `/fit/:series_id`).
    public var pathParameters = PathParameters()
    /// When the read that completed this request returned (`CLOCK_MONOTONIC`, nanoseconds); 0 when unknown.
    /// Never earlier than the arrival of the request's last byte, and always before the `Router.afterReads`
    /// hooks of its round run.
    public var receivedAt: UInt64 = 0

    public init(method: HTTPMethod, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The path part of the target, still percent-encoded.
    public var path: Substring {
        if let question = queryMark { return target[..<question] }
        return target[...]
    }

    /// The raw query string (without `?`), empty when there is none.
    public var rawQuery: Substring {
        if let question = queryMark { return target[target.utf8.index(after: question)...] }
        return ""
    }

    /// Where the `?` is. The search runs over the target's contiguous bytes: the generic
    /// `utf8.firstIndex(of:)` cost about 25 instructions a byte, a third of the router's work on a predict.
    private var queryMark: String.Index? {
        let utf8 = target.utf8
        if let offset = utf8.withContiguousStorageIfAvailable({ $0.firstIndex(of: UInt8(ascii: "?")) }) {
            return offset.map { utf8.index(utf8.startIndex, offsetBy: $0) }
        }
        return utf8.firstIndex(of: UInt8(ascii: "?"))
    }

    /// The decoded query parameters.
    public var query: QueryParameters { QueryParameters(parsing: rawQuery) }

    /// Whether the connection may stay open after this request (RFC 9112 §9.3):
    /// HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    public var wantsKeepAlive: Bool {
        if version.minor >= 1 {
            return !headers.contains(name: "connection", token: "close")
        }
        return headers.contains(name: "connection", token: "keep-alive")
    }
}
