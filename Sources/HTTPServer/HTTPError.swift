/// An error a handler throws to answer with a status and the shared error body.
public struct HTTPError: Error, Sendable, Equatable {
    /// The JSON error body every service sends.
    public struct Body: Codable, Sendable, Equatable {
        /// A stable machine-readable code, e.g. `validation_error`.
        public var error: String
        /// A human-readable explanation.
        public var message: String
        /// The offending field, e.g. `values[2]`, when there is one.
        public var field: String?
    }

    public var status: HTTPStatus
    public var body: Body
    /// Extra headers, e.g. `Allow` for 405 or `Retry-After` for 503.
    public var headers: HTTPHeaders

    public init(_ status: HTTPStatus, code: String, message: String, field: String? = nil, headers: HTTPHeaders = [:]) {
        self.status = status
        self.body = Body(error: code, message: message, field: field)
        self.headers = headers
    }

    public static func notFound(_ message: String) -> HTTPError {
        HTTPError(.notFound, code: "not_found", message: message)
    }

    public static func badRequest(_ message: String) -> HTTPError {
        HTTPError(.badRequest, code: "bad_request", message: message)
    }

    /// The error for a request the parser refused.
    init(parseError: RequestParseError) {
        let code: String
        switch parseError.status.code {
        case 408: code = "request_timeout"
        case 413: code = "payload_too_large"
        case 414: code = "uri_too_long"
        case 417: code = "expectation_failed"
        case 431: code = "headers_too_large"
        case 501: code = "not_implemented"
        case 505: code = "http_version_not_supported"
        default: code = "bad_request"
        }
        self.init(parseError.status, code: code, message: parseError.message)
    }
}
