/// One keep-alive connection of a driver: its socket, its place in the request cycle, and its parser.
///
/// The driver does the system calls; this holds the state they act on. Owned by one driver thread.
final class HTTPClientConnection {
    /// Where the connection is in its cycle.
    enum State {
        /// No socket; opened when a request needs it, once `reopenAt` has passed.
        case closed
        /// Non-blocking connect under way, a request waiting.
        case connecting
        /// Writing the request (the socket buffer was full).
        case sending
        /// Request written, reading the response.
        case awaitingResponse
        /// Connected, no request: waiting for the next one (or for the server to close it).
        case idle
    }

    /// The request on the connection.
    struct Request {
        /// The complete request bytes (shared with the catalog, not copied).
        var bytes: [UInt8]
        /// How many have been written.
        var sent: Int
        /// Monotonic nanoseconds at which it started: the latency's origin.
        var startedAt: UInt64
        /// Monotonic nanoseconds at which it times out.
        var deadline: UInt64
        /// Whether it was already resent after the connection closed under it.
        var retried: Bool
    }

    /// The connection's slot in its driver.
    let index: Int
    /// Which service it talks to.
    let kind: RequestKind
    var fd: Int32 = -1
    /// Bumped for every new socket, so that an event for an old one is recognized and dropped.
    var generation: UInt32 = 0
    var state = State.closed
    /// The epoll events currently registered.
    var interest: UInt32 = 0
    var parser = HTTPResponseParser()
    var request: Request?
    /// Responses received on the current socket.
    var responsesOnSocket = 0
    /// Sockets in a row that failed before their first response; drives the reconnect backoff.
    var consecutiveFailures = 0
    /// Monotonic nanoseconds before which a closed connection is not reopened.
    var reopenAt: UInt64 = 0

    init(index: Int, kind: RequestKind) {
        self.index = index
        self.kind = kind
    }

    /// The epoll token: generation and slot.
    var token: UInt64 { UInt64(generation) << 32 | UInt64(index) }

    /// The slot named by an epoll token.
    static func index(of token: UInt64) -> Int { Int(token & 0xFFFF_FFFF) }

    /// How long to wait before reopening after `consecutiveFailures` failed sockets:
    /// none after a socket that worked, then 10 ms doubling up to 1 s, so that a closed port is
    /// retried steadily instead of in a hot loop.
    var reconnectBackoff: UInt64 {
        guard consecutiveFailures > 0 else { return 0 }
        return min(1_000_000_000, 10_000_000 << UInt64(min(consecutiveFailures - 1, 7)))
    }
}
