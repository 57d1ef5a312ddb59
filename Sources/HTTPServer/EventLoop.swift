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
/// loop's own thread, which is why the class can be `@unchecked Sendable`.
final class EventLoop: @unchecked Sendable {
    private let index: Int
    private let shared: ServerShared
    private let epoll: Epoll
    private let wakeSignal: WakeSignal
    private var listenFD: Int32
    private let logger: Logger

    private let inbox = Mutex<[Completion]>([])
    private let wakePending = Atomic<Bool>(false)
    private let shutdownRequested = Atomic<Bool>(false)

    private var connections: [Connection?] = []
    private var liveConnections = 0
    private var nextConnectionID: UInt64 = 0
    private var now = monotonicMilliseconds()
    private var draining = false
    private var drainDeadline: Int64 = 0
    private var nextSweep: Int64 = 0
    private var fixedHeaders: [UInt8] = []
    private var fixedHeadersSecond = -1
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var spareFD: Int32

    private static let listenerToken = UInt64.max - 1
    private static let wakeToken = UInt64.max
    private static let readBufferSize = 64 * 1024
    private static let outputHighWater = 1 << 20
    private static let lingerMilliseconds: Int64 = 2000
    private static let sweepIntervalMilliseconds: Int64 = 250
    private static let acceptsPerWakeUp = 256
    private static let capacityRefusal: [UInt8] = {
        let body = #"{"error":"over_capacity","message":"server is at its connection limit"}"#
        let head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
        return Array((head + "Content-Length: \(body.utf8.count)\r\n\r\n" + body).utf8)
    }()
    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

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
                default: handle(events: event.events, fd: Int32(truncatingIfNeeded: event.data.u64))
                }
            }
            if now >= nextSweep {
                nextSweep = now + Self.sweepIntervalMilliseconds
                sweepTimeouts()
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

    private func beginDraining() {
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

    private func refreshFixedHeaders() {
        let second = time(nil)
        guard second != fixedHeadersSecond else { return }
        fixedHeadersSecond = second
        fixedHeaders = Array("Server: \(shared.configuration.serverName)\r\nDate: \(HTTPDate.format(epochSeconds: second))\r\n".utf8)
    }

    // MARK: - Accepting

    private func acceptConnections() {
        for _ in 0..<Self.acceptsPerWakeUp {
            let fd = c_shims_accept_nonblocking(listenFD)
            if fd < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE:
                    refuseWithSpareDescriptor()
                    return
                default:
                    logger.error("accept failed: \(String(cString: strerror(errno)))")
                    return
                }
            }
            if shared.openConnections.wrappingAdd(1, ordering: .relaxed).newValue > shared.maxConnections {
                shared.openConnections.wrappingSubtract(1, ordering: .relaxed)
                refuse(fd)
                continue
            }
            Socket.setNoDelay(fd)
            register(fd)
        }
    }

    private func register(_ fd: Int32) {
        nextConnectionID &+= 1
        let connection = Connection(
            fd: fd, id: nextConnectionID, limits: shared.configuration.limits,
            deadline: now + shared.configuration.timeouts.headerRead.milliseconds, registeredEvents: Epoll.readable
        )
        do {
            try epoll.add(fd, events: Epoll.readable, token: UInt64(fd))
        } catch {
            shared.openConnections.wrappingSubtract(1, ordering: .relaxed)
            close(fd)
            return
        }
        let slot = Int(fd)
        if slot >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: max(slot + 1 - connections.count, connections.count)))
        }
        connections[slot] = connection
        liveConnections += 1
    }

    /// Past the connection cap: a clear 503, then close.
    private func refuse(_ fd: Int32) {
        Self.capacityRefusal.withUnsafeBytes { bytes in
            _ = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        }
        shutdown(fd, Int32(SHUT_WR))
        close(fd)
    }

    /// Out of descriptors: free the spare one to accept and refuse a client, so the backlog does not spin.
    private func refuseWithSpareDescriptor() {
        guard spareFD >= 0 else { return }
        close(spareFD)
        let fd = c_shims_accept_nonblocking(listenFD)
        if fd >= 0 { refuse(fd) }
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        logger.warning("out of file descriptors; refusing connections")
    }

    // MARK: - Connection events

    private func handle(events: UInt32, fd: Int32) {
        guard Int(fd) < connections.count, let connection = connections[Int(fd)] else { return }
        if events & Epoll.hangUp != 0 && events & Epoll.readable == 0 {
            closeConnection(connection)
            return
        }
        if events & Epoll.readable != 0 {
            readAvailable(connection)
            guard connections[Int(fd)] === connection else { return }
        }
        if events & Epoll.writable != 0 || connection.hasPendingOutput {
            flush(connection)
        }
    }

    private func readAvailable(_ connection: Connection) {
        let count = recv(connection.fd, readBuffer.baseAddress, readBuffer.count, 0)
        if count > 0 {
            if connection.phase == .lingering { return }
            connection.parser.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
            processRequests(connection)
        } else if count == 0 {
            // The client shut its write side: answer what is complete, then close.
            connection.inputClosed = true
            if connection.phase == .lingering {
                closeConnection(connection)
                return
            }
            if connection.phase != .handling {
                processRequests(connection)
                if !connection.hasPendingOutput && connection.phase != .handling {
                    closeConnection(connection)
                    return
                }
            }
            updateInterest(connection)
        } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            closeConnection(connection)
        }
    }

    /// Turns buffered bytes into responses, in order, until a blocking handler is running,
    /// the connection is closing, or too much output is waiting for the client.
    private func processRequests(_ connection: Connection) {
        while connection.phase != .handling && !connection.closeAfterFlush && connection.output.count < Self.outputHighWater {
            guard let event = connection.parser.next() else { break }
            switch event {
            case .continueExpected:
                connection.output.append(contentsOf: Self.continueLine)
            case .failure(let error):
                connection.mayStillBeSending = true
                let framing = ResponseFraming(keepAlive: false, omitBody: false, http10: false)
                write(.error(HTTPError(parseError: error)), framing: framing, to: connection)
            case .request(let request):
                dispatch(request, on: connection)
            }
        }
        updatePhase(connection)
    }

    private func dispatch(_ request: HTTPRequest, on connection: Connection) {
        let framing = ResponseFraming(
            keepAlive: request.wantsKeepAlive && !draining,
            omitBody: request.method == .head,
            http10: request.version.minor == 0
        )
        var request = request
        switch shared.router.resolve(method: request.method, path: request.path) {
        case .matched(let route, let parameters):
            request.pathParameters = parameters
            switch route.execution {
            case .inline:
                write(Self.invoke(route.handler, request, logger: logger), framing: framing, to: connection)
            case .blocking:
                let loop = self
                let fd = connection.fd
                let id = connection.id
                let logger = logger
                let handler = route.handler
                let routed = request
                let accepted = shared.pool.submit {
                    loop.post(Completion(fd: fd, connectionID: id, response: EventLoop.invoke(handler, routed, logger: logger)))
                }
                if accepted {
                    connection.phase = .handling
                    connection.pendingFraming = framing
                } else {
                    let busy = HTTPError(.serviceUnavailable, code: "overloaded", message: "too many requests waiting; retry shortly", headers: ["Retry-After": "1"])
                    write(.error(busy), framing: framing, to: connection)
                }
            }
        case .methodNotAllowed(let allowed):
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            if request.method == .options {
                write(HTTPResponse(status: .noContent, headers: ["Allow": allow + ", OPTIONS"]), framing: framing, to: connection)
            } else {
                let error = HTTPError(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.path); allowed: \(allow)", headers: ["Allow": allow])
                write(.error(error), framing: framing, to: connection)
            }
        case .notFound:
            write(.error(.notFound("no route for \(request.path)")), framing: framing, to: connection)
        case .badPath(let message):
            write(.error(.badRequest(message)), framing: framing, to: connection)
        }
    }

    /// Runs a handler; a thrown `HTTPError` is its answer, anything else is a logged 500.
    static func invoke(_ handler: Router.Handler, _ request: HTTPRequest, logger: Logger) -> HTTPResponse {
        do {
            return try handler(request)
        } catch let error as HTTPError {
            return .error(error)
        } catch {
            logger.error("handler failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            return .error(HTTPError(.internalServerError, code: "internal_error", message: "the server failed to answer this request"))
        }
    }

    private func write(_ response: HTTPResponse, framing: ResponseFraming, to connection: Connection) {
        response.serialize(into: &connection.output, framing: framing, fixedHeaders: fixedHeaders)
        if !framing.keepAlive { connection.closeAfterFlush = true }
    }

    private func drainInbox() {
        wakeSignal.drain()
        wakePending.store(false, ordering: .releasing)
        let completions = inbox.withLock { pending -> [Completion] in
            let taken = pending
            pending.removeAll(keepingCapacity: true)
            return taken
        }
        for completion in completions {
            guard Int(completion.fd) < connections.count, let connection = connections[Int(completion.fd)],
                  connection.id == completion.connectionID, connection.phase == .handling,
                  var framing = connection.pendingFraming else { continue }
            if draining { framing.keepAlive = false }
            connection.pendingFraming = nil
            connection.phase = .idle
            write(completion.response, framing: framing, to: connection)
            processRequests(connection)
            flush(connection)
        }
    }

    // MARK: - Writing and closing

    private func flush(_ connection: Connection) {
        guard connections[Int(connection.fd)] === connection else { return }
        connection.output.withUnsafeBytes { bytes in
            while connection.outputOffset < bytes.count {
                let written = send(connection.fd, bytes.baseAddress! + connection.outputOffset, bytes.count - connection.outputOffset, Int32(MSG_NOSIGNAL))
                if written > 0 {
                    connection.outputOffset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
        }
        if connection.hasPendingOutput {
            if errno != EAGAIN && errno != EWOULDBLOCK {
                closeConnection(connection)
                return
            }
        } else {
            connection.output.removeAll(keepingCapacity: connection.output.capacity <= Self.outputHighWater)
            connection.outputOffset = 0
            if connection.closeAfterFlush {
                if connection.mayStillBeSending || connection.parser.bufferedByteCount > 0 {
                    beginLingering(connection)
                } else {
                    closeConnection(connection)
                }
                return
            }
            if connection.inputClosed && connection.phase != .handling {
                closeConnection(connection)
                return
            }
            // Output drained below the high-water mark: requests held back may proceed.
            if connection.parser.bufferedByteCount > 0 && connection.phase != .handling {
                processRequests(connection)
                if connection.hasPendingOutput { return flush(connection) }
            }
        }
        updatePhase(connection)
        updateInterest(connection)
    }

    /// Shut the write side and wait briefly for the client's FIN, so that unread request bytes
    /// do not make the kernel reset the connection before the client has read our answer.
    private func beginLingering(_ connection: Connection) {
        if connection.inputClosed {
            closeConnection(connection)
            return
        }
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.phase = .lingering
        connection.deadline = now + Self.lingerMilliseconds
        updateInterest(connection)
    }

    private func closeConnection(_ connection: Connection) {
        guard connections[Int(connection.fd)] === connection else { return }
        connections[Int(connection.fd)] = nil
        liveConnections -= 1
        shared.openConnections.wrappingSubtract(1, ordering: .relaxed)
        epoll.remove(connection.fd)
        close(connection.fd)
    }

    /// Moves the connection to the phase its state implies and (re)starts that phase's timeout.
    /// Called after every read and write, so an idle connection's keep-alive clock restarts after each response.
    private func updatePhase(_ connection: Connection) {
        guard connection.phase != .handling && connection.phase != .lingering else { return }
        let timeouts = shared.configuration.timeouts
        let phase: Connection.Phase
        if connection.parser.isReadingBody {
            phase = .readingBody
        } else if !connection.parser.isBetweenRequests {
            phase = .readingHead
        } else {
            phase = .idle
        }
        if phase != connection.phase || phase == .idle {
            connection.phase = phase
            switch phase {
            case .readingHead: connection.deadline = now + timeouts.headerRead.milliseconds
            case .readingBody: connection.deadline = now + timeouts.bodyRead.milliseconds
            default: connection.deadline = now + (connection.hasPendingOutput ? timeouts.write : timeouts.keepAliveIdle).milliseconds
            }
        }
    }

    private func updateInterest(_ connection: Connection) {
        guard connections[Int(connection.fd)] === connection else { return }
        var events: UInt32 = 0
        let paused = connection.phase == .handling || connection.output.count >= Self.outputHighWater
        if !connection.inputClosed && (!paused || connection.phase == .lingering) { events |= Epoll.readable }
        if connection.hasPendingOutput { events |= Epoll.writable }
        if events != connection.registeredEvents {
            connection.registeredEvents = events
            epoll.modify(connection.fd, events: events, token: UInt64(connection.fd))
        }
    }

    private func sweepTimeouts() {
        for case let connection? in connections where connection.phase != .handling && connection.deadline <= now {
            switch connection.phase {
            case .readingHead, .readingBody:
                if connection.hasPendingOutput {
                    closeConnection(connection)
                    continue
                }
                let timeout = HTTPError(.requestTimeout, code: "request_timeout", message: "the request was not received in time")
                connection.parser = RequestParser(limits: shared.configuration.limits)
                connection.phase = .idle
                connection.mayStillBeSending = true
                write(.error(timeout), framing: ResponseFraming(keepAlive: false, omitBody: false, http10: false), to: connection)
                flush(connection)
            case .idle, .lingering, .handling:
                closeConnection(connection)
            }
        }
    }
}
