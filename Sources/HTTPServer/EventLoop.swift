import CSystemShims
import Glibc
import Logging
import Synchronization

/// A response produced on the blocking pool, on its way back to the loop that owns the connection.
struct Completion: Sendable {
    let fd: Int32
    let connectionID: UInt64
    let response: HTTPResponse
}

/// One event-loop thread: its own `SO_REUSEPORT` listener, its own epoll set, its own connections.
///
/// Threading: everything but `inbox`, `wakeSignal` and `shutdownRequested` is touched only by the
/// loop's own thread, which is why the class can be `@unchecked Sendable`. For the same reason the arrays the
/// loop changes through calls skip Swift's run-time exclusivity checks (see `Connection`).
final class EventLoop: @unchecked Sendable {
    let index: Int
    let shared: ServerShared
    let epoll: Epoll
    let wakeSignal: WakeSignal
    var listenFD: Int32
    let logger: Logger

    let inbox = Mutex<[Completion]>([])
    let wakePending = Atomic<Bool>(false)
    let shutdownRequested = Atomic<Bool>(false)

    @exclusivity(unchecked) var connections: [Connection?] = []
    var liveConnections = 0
    var nextConnectionID: UInt64 = 0
    var now = monotonicMilliseconds()
    var draining = false
    var drainDeadline: Int64 = 0
    var nextSweep: Int64 = 0
    @exclusivity(unchecked) var fixedHeaders: [UInt8] = []
    var fixedHeadersSecond = -1
    let readBuffer: UnsafeMutableRawBufferPointer
    var spareFD: Int32
    /// Set while the listener is out of epoll after EMFILE left no spare descriptor.
    var listenerPausedUntil: Int64?
    var lastDescriptorWarning: Int64 = -10_000
    /// Connections read in the current round, with their epoll events, handled once the round's reads are done.
    @exclusivity(unchecked) var readThisRound: [(connection: Connection, events: UInt32)] = []

    static let listenerToken = UInt64.max - 1
    static let wakeToken = UInt64.max
    static let readBufferSize = 64 * 1024
    static let outputHighWater = 1 << 20
    static let lingerMilliseconds: Int64 = 2000
    static let sweepIntervalMilliseconds: Int64 = 250
    static let acceptsPerWakeUp = 256
    static let capacityRefusal: [UInt8] = {
        let body = #"{"error":"over_capacity","message":"server is at its connection limit"}"#
        let head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
        return Array((head + "Content-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
    }()
    static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    init(index: Int, listenFD: Int32, shared: ServerShared, logger: Logger) throws {
        self.index = index
        self.listenFD = listenFD
        self.shared = shared
        self.logger = logger
        epoll = try Epoll()
        wakeSignal = try WakeSignal()
        readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try epoll.add(listenFD, events: Epoll.readable, token: Self.listenerToken)
        try epoll.add(wakeSignal.fd, events: Epoll.readable, token: Self.wakeToken)
    }

    deinit {
        readBuffer.deallocate()
        epoll.close()
        close(wakeSignal.fd)
        if spareFD >= 0 { close(spareFD) }
    }

    // MARK: - Cross-thread entry points

    /// Hands a blocking handler's response back to this loop. Called from pool threads.
    func post(_ completion: Completion) {
        inbox.withLock { $0.append(completion) }
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            wakeSignal.wake()
        }
    }

    /// Starts a graceful shutdown: stop accepting, close idle connections, finish the rest.
    func requestShutdown() {
        shutdownRequested.store(true, ordering: .releasing)
        wakeSignal.wake()
    }

    // MARK: - The loop

    /// Runs until shutdown completes. Call on the loop's own thread.
    func run() {
        let capacity = 512
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        refreshFixedHeaders()
        while true {
            let count = epoll.wait(into: events, timeoutMilliseconds: Int32(Self.sweepIntervalMilliseconds))
            now = monotonicMilliseconds()
            refreshFixedHeaders()
            for position in 0..<count {
                let event = events[position]
                switch event.data.u64 {
                case Self.listenerToken: acceptConnections()
                case Self.wakeToken: drainInbox()
                default: handle(events: event.events, token: event.data.u64)
                }
            }
            handleRoundOfReads()
            if now >= nextSweep {
                nextSweep = now + Self.sweepIntervalMilliseconds
                sweepTimeouts()
                resumeAcceptingIfDue()
            }
            if !draining && shutdownRequested.load(ordering: .acquiring) {
                beginDraining()
            }
            if draining {
                if liveConnections == 0 { break }
                if now >= drainDeadline {
                    logger.warning("grace period over, closing \(liveConnections) connection(s)", metadata: ["loop": "\(index)"])
                    for case let connection? in connections { closeConnection(connection) }
                    break
                }
            }
        }
    }

    func beginDraining() {
        draining = true
        drainDeadline = now + shared.configuration.shutdownGracePeriod.milliseconds
        if listenFD >= 0 {
            epoll.remove(listenFD)
            close(listenFD)
            listenFD = -1
        }
        for case let connection? in connections where connection.isQuiescent {
            closeConnection(connection)
        }
    }

    func refreshFixedHeaders() {
        let second = time(nil)
        guard second != fixedHeadersSecond else { return }
        fixedHeadersSecond = second
        fixedHeaders = Array("Server: \(shared.configuration.serverName)\r\nDate: \(HTTPDate.format(epochSeconds: second))\r\n".utf8)
    }
}
