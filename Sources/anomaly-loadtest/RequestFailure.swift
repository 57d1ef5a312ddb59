/// How a request failed below HTTP: the report counts these apart from error statuses.
enum RequestFailure: Int, Sendable, CaseIterable {
    /// The TCP connection could not be opened (refused, unreachable, out of descriptors).
    case connect
    /// Sending the request failed (reset, broken pipe).
    case write
    /// Reading the response failed (reset).
    case read
    /// The server closed the connection before the response was complete.
    case closed
    /// The server's bytes were not a valid HTTP response.
    case malformed
    /// No complete response within `--timeout`.
    case timeout

    /// The key used in the report.
    var label: String {
        switch self {
        case .connect: "connect"
        case .write: "write"
        case .read: "read"
        case .closed: "closed"
        case .malformed: "malformed"
        case .timeout: "timeout"
        }
    }
}
