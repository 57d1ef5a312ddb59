/// One client connection. Owned and touched by a single event loop, never shared across threads.
///
/// `parser` and `output` are changed in place through calls (`parser.next()`, `serialize(into: &output)`),
/// which Swift checks for overlapping access at run time on a class's properties. Only the owning loop's
/// thread touches them and no access to one nests inside another, so those checks are off for them
/// (`@exclusivity(unchecked)`, as for the loop's own arrays in `EventLoop`): with the loop's three, about
/// 1,900 fewer instructions per predict (`scripts/instructions-per-predict.sh`, 53,077 → 51,154).
final class Connection {
    /// What the connection is waiting for; decides which timeout applies.
    enum Phase: Equatable {
        /// Between requests, nothing buffered: keep-alive idle timeout.
        case idle
        /// Part of a request head received: header-read timeout (slowloris guard).
        case readingHead
        /// Head complete, body arriving: body-read timeout.
        case readingBody
        /// A blocking handler is running; reads are paused so responses stay in request order.
        case handling
        /// Response written with `Connection: close`, write side shut; waiting briefly for the client's FIN.
        case lingering
    }

    let fd: Int32
    /// Distinguishes this connection from a later one that reuses the same descriptor.
    let id: UInt64
    @exclusivity(unchecked) var parser: RequestParser
    var phase = Phase.idle
    var deadline: Int64
    @exclusivity(unchecked) var output: [UInt8] = []
    /// When the last read that returned bytes came back (see `HTTPRequest.receivedAt`).
    var lastInputAt: UInt64 = 0
    var outputOffset = 0
    /// Close once `output` is written (error, `Connection: close`, HTTP/1.0, shutdown).
    var closeAfterFlush = false
    /// The client shut its write side; finish what is buffered, then close.
    var inputClosed = false
    /// The request was refused mid-stream (parse error, timeout): the client may still be sending,
    /// so closing must linger or the kernel's reset could destroy our answer before the client reads it.
    var mayStillBeSending = false
    /// Framing of the response the blocking handler will produce.
    var pendingFraming: ResponseFraming?
    /// What the current timeout was started for; a change restarts it (see `EventLoop.updatePhase`).
    struct ProgressKey: Equatable {
        var phase: Phase
        var completedRequests: Int
        var writing: Bool
    }

    var progressKey: ProgressKey?
    /// The epoll events currently registered.
    var registeredEvents: UInt32

    init(fd: Int32, id: UInt64, limits: RequestLimits, deadline: Int64, registeredEvents: UInt32) {
        self.fd = fd
        self.id = id
        self.parser = RequestParser(limits: limits)
        self.deadline = deadline
        self.registeredEvents = registeredEvents
    }

    var hasPendingOutput: Bool { outputOffset < output.count }

    /// The epoll token: the descriptor in the low 32 bits, this connection's generation in the high 32.
    var token: UInt64 { UInt64(UInt32(truncatingIfNeeded: id)) << 32 | UInt64(UInt32(bitPattern: fd)) }

    /// Nothing in progress: safe to close at shutdown without losing a request.
    var isQuiescent: Bool {
        phase == .idle && parser.isBetweenRequests && !hasPendingOutput
    }
}
