import CSystemShims
import Glibc
import Logging

extension EventLoop {
    /// Events for a connection. The token carries the connection's generation, so a stale event for a
    /// descriptor closed and reused within the same batch is ignored.
    /// A connection that read something is handled after the round's reads (`handleRoundOfReads`).
    func handle(events: UInt32, token: UInt64) {
        let fd = Int(token & 0xFFFF_FFFF)
        guard fd < connections.count, let connection = connections[fd], connection.token == token else { return }
        if events & Epoll.hangUp != 0 && events & Epoll.readable == 0 {
            closeConnection(connection)
            return
        }
        if events & Epoll.readable != 0 && receive(connection) {
            readThisRound.append((connection, events))
            return
        }
        guard isCurrent(connection) else { return }
        if events & Epoll.writable != 0 || connection.hasPendingOutput {
            flush(connection)
        }
    }

    /// Reads what the socket holds into the parser. Returns true when there is input (bytes or the client's
    /// end of input) to handle once this round's reads are done.
    func receive(_ connection: Connection) -> Bool {
        let count = recv(connection.fd, readBuffer.baseAddress, readBuffer.count, 0)
        if count > 0 {
            if connection.phase == .lingering { return false }
            connection.parser.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
            connection.lastInputAt = monotonicNanoseconds()
            return true
        } else if count == 0 {
            // The client shut its write side: answer what is complete, then close.
            connection.inputClosed = true
            if connection.phase == .lingering {
                closeConnection(connection)
                return false
            }
            return true
        } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            closeConnection(connection)
        }
        return false
    }

    /// Runs the router's `afterReads` hooks once for the round, handles what each connection read, and only
    /// then writes the answers, back to back.
    ///
    /// Writing each answer as soon as it was made woke the client for each one: with the client faster than
    /// the server, it went back to sleep in between, and the wake-ups (an inter-processor interrupt each, on
    /// a VM) took about 9% of the loop's CPU. Sent together, the first wakes the client and the rest find it
    /// awake. Measured with `/predict` at 64 connections (wrk on CPU 0, the loop on CPU 1), alternating
    /// 4-s rounds, 2026-11-22: 93,000–100,000 requests/s in 14 of 16 rounds (the other two hit bursts of
    /// steal) against 84,000–90,000, and p99 lower in 11 of 16 pairs (`scripts/ab-predict.sh`). A round
    /// holds at most one `epoll_wait` batch (512 events), which bounds the wait this adds.
    func handleRoundOfReads() {
        guard !readThisRound.isEmpty else { return }
        for hook in shared.router.afterReads { hook() }
        for (connection, _) in readThisRound {
            handleInput(connection)
        }
        for (connection, events) in readThisRound {
            guard isCurrent(connection) else { continue }
            if events & Epoll.writable != 0 || connection.hasPendingOutput {
                flush(connection)
            }
        }
        readThisRound.removeAll(keepingCapacity: true)
    }

    private func handleInput(_ connection: Connection) {
        guard isCurrent(connection) else { return }
        guard connection.inputClosed else {
            processRequests(connection)
            return
        }
        if connection.phase != .handling {
            processRequests(connection)
            guard isCurrent(connection) else { return }
            if !connection.hasPendingOutput && connection.phase != .handling {
                closeConnection(connection)
                return
            }
        }
        updateInterest(connection)
    }

    /// Turns buffered bytes into responses, in order, until a blocking handler is running,
    /// the connection is closing, or too much output is waiting for the client.
    func processRequests(_ connection: Connection) {
        while connection.phase != .handling && !connection.closeAfterFlush && connection.output.count < Self.outputHighWater {
            guard let event = connection.parser.next() else { break }
            switch consume event {
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
        // Stop reading once a blocking handler runs or the connection is closing: later bytes wait in the kernel.
        // With output queued, the flush that always follows sets the interest after writing; doing it here
        // too would add two epoll_ctl calls to every inline request.
        if !connection.hasPendingOutput { updateInterest(connection) }
    }

    func dispatch(_ request: consuming HTTPRequest, on connection: Connection) {
        let framing = ResponseFraming(
            keepAlive: request.wantsKeepAlive && !draining,
            omitBody: request.method == .head,
            http10: request.version.minor == 0
        )
        request.receivedAt = connection.lastInputAt
        switch shared.router.resolve(method: request.method, path: request.path) {
        case .matched(let route, let parameters):
            request.pathParameters = parameters
            if let precondition = route.precondition, let refusal = Self.refusal(precondition, request, logger: logger) {
                write(refusal, framing: framing, to: connection)
                return
            }
            switch route.execution {
            case .inline:
                write(Self.invoke(route.handler, request, logger: logger), framing: framing, to: connection)
            case .blocking:
                submitBlocking(route.handler, request, framing: framing, on: connection)
            case .inlineFirst(let fastPath):
                if let response = Self.invokeFastPath(fastPath, request, logger: logger) {
                    write(response, framing: framing, to: connection)
                } else {
                    submitBlocking(route.handler, request, framing: framing, on: connection)
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

    /// Hands a request to the blocking pool; the connection reads nothing more until the answer is back.
    /// A full queue is answered at once with 503 and `Retry-After`.
    func submitBlocking(_ handler: @escaping Router.Handler, _ request: HTTPRequest, framing: ResponseFraming, on connection: Connection) {
        let loop = self
        let fd = connection.fd
        let id = connection.id
        let logger = logger
        let accepted = shared.pool.submit {
            loop.post(Completion(fd: fd, connectionID: id, response: EventLoop.invoke(handler, request, logger: logger)))
        }
        if accepted {
            connection.phase = .handling
            connection.pendingFraming = framing
        } else {
            let busy = HTTPError(.serviceUnavailable, code: "overloaded", message: "too many requests waiting; retry shortly", headers: ["Retry-After": "1"])
            write(.error(busy), framing: framing, to: connection)
        }
    }

    /// Runs a route's precondition: nil lets the request through; a thrown error is the answer, as for `invoke`.
    static func refusal(_ precondition: Router.Precondition, _ request: HTTPRequest, logger: Logger) -> HTTPResponse? {
        invokeFastPath({ request in try precondition(request); return nil }, request, logger: logger)
    }

    /// Runs a fast path: nil means "needs the blocking handler"; a thrown error is the answer, as for `invoke`.
    static func invokeFastPath(_ fastPath: Router.FastPath, _ request: HTTPRequest, logger: Logger) -> HTTPResponse? {
        do {
            return try fastPath(request)
        } catch let error as HTTPError {
            return .error(error)
        } catch {
            logger.error("fast path failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            return .error(HTTPError(.internalServerError, code: "internal_error", message: "the server failed to answer this request"))
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

    func write(_ response: HTTPResponse, framing: ResponseFraming, to connection: Connection) {
        response.serialize(into: &connection.output, framing: framing, fixedHeaders: fixedHeaders)
        if !framing.keepAlive { connection.closeAfterFlush = true }
    }

    func drainInbox() {
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

}
