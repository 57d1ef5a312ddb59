import CSystemShims
import Glibc

extension LoadDriver {
    // MARK: - Events

    func handle(events: UInt32, token: UInt64) {
        let index = HTTPClientConnection.index(of: token)
        guard index < connections.count else { return }
        let connection = connections[index]
        guard connection.fd >= 0, connection.token == token else { return }
        switch connection.state {
        case .connecting:
            finishConnecting(connection)
        case .sending:
            if events & (Epoll.writable | Self.hangUp) != 0 {
                send(connection)
            }
            let stillWaiting = connection.token == token && (connection.state == .sending || connection.state == .awaitingResponse)
            if stillWaiting && events & (Epoll.readable | Self.hangUp) != 0 {
                readResponse(connection)
            }
        case .awaitingResponse:
            readResponse(connection)
        case .idle:
            idleConnectionEvent(connection)
        case .closed:
            break
        }
    }

    // MARK: - Opening

    /// Opens a socket for the request waiting on `connection`.
    func open(_ connection: HTTPClientConnection) {
        guard let address = addresses[connection.kind.rawValue] else {
            fail(connection, .connect)
            return
        }
        switch ClientSocket.connect(to: address) {
        case .connected(let fd):
            guard adopt(fd, for: connection, events: Epoll.readable) else { return }
            connection.state = .sending
            send(connection)
        case .inProgress(let fd):
            guard adopt(fd, for: connection, events: Epoll.writable) else { return }
            connection.state = .connecting
        case .failed:
            fail(connection, .connect)
        }
    }

    /// Gives `connection` a new socket and registers it. - Returns: false when epoll refused it.
    func adopt(_ fd: Int32, for connection: HTTPClientConnection, events: UInt32) -> Bool {
        connection.generation &+= 1
        connection.fd = fd
        connection.interest = events
        connection.parser.reset()
        guard epoll.add(fd, events: events, token: connection.token) else {
            fail(connection, .connect)
            return false
        }
        return true
    }

    func finishConnecting(_ connection: HTTPClientConnection) {
        guard ClientSocket.pendingError(connection.fd) == 0 else {
            fail(connection, .connect)
            return
        }
        connection.state = .sending
        send(connection)
    }

    // MARK: - Request and response

    /// Writes what is left of the request; waits for writability when the socket buffer is full.
    func send(_ connection: HTTPClientConnection) {
        guard let request = connection.request else { return }
        let fd = connection.fd
        let bytes = request.bytes
        var sent = request.sent
        var failed = false
        bytes.withUnsafeBytes { raw in
            while sent < raw.count {
                let written = Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if written > 0 {
                    sent += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    failed = !(written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    return
                }
            }
        }
        if failed {
            failOrRetry(connection, .write)
            return
        }
        connection.request?.sent = sent
        if sent == bytes.count {
            connection.state = .awaitingResponse
            setInterest(connection, Epoll.readable)
        } else {
            connection.state = .sending
            setInterest(connection, Epoll.readable | Epoll.writable)
        }
    }

    /// Reads until the response is complete or the socket has nothing more for now.
    func readResponse(_ connection: HTTPClientConnection) {
        while true {
            let count = read(connection.fd, readBuffer.baseAddress, readBuffer.count)
            if count > 0 {
                let outcome: HTTPResponseParser.Outcome
                do {
                    outcome = try connection.parser.parse(UnsafeBufferPointer(rebasing: readBuffer[0..<count]))
                } catch {
                    fail(connection, .malformed)
                    return
                }
                if case .complete(let response, let consumed) = outcome {
                    complete(connection, response: response, reusable: consumed == count)
                    return
                }
            } else if count == 0 {
                if let response = try? connection.parser.finishAtEndOfStream() {
                    complete(connection, response: response, reusable: false)
                } else {
                    failOrRetry(connection, .closed)
                }
                return
            } else {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return }
                failOrRetry(connection, .read)
                return
            }
        }
    }

    /// Records a response and makes the connection idle, or closes it when it cannot be reused.
    func complete(_ connection: HTTPClientConnection, response: HTTPClientResponse, reusable: Bool) {
        guard let request = connection.request else { return }
        let now = MonotonicClock.now()
        connection.request = nil
        inFlight -= 1
        let anomaly = connection.kind == .predict && (200..<300).contains(response.status)
            && AnomalyFlagScanner.containsTrueFlag(response.body)
        statistics.recordResponse(status: response.status, kind: connection.kind, latencyNanoseconds: now - request.startedAt, anomaly: anomaly)
        counters.finished.wrappingAdd(1, ordering: .relaxed)
        if response.status >= 400 { counters.errors.wrappingAdd(1, ordering: .relaxed) }
        connection.responsesOnSocket += 1
        connection.consecutiveFailures = 0
        if response.keepAlive && reusable && request.sent == request.bytes.count {
            connection.state = .idle
            setInterest(connection, Epoll.readable)
            idle[connection.kind.rawValue].push(connection.index)
        } else {
            closeSocket(connection)
            connection.reopenAt = now
            closed[connection.kind.rawValue].append(connection.index)
        }
    }

    /// The server closed an idle keep-alive connection (or sent bytes nobody asked for): drop the
    /// socket; a new one is opened when a request needs it.
    func idleConnectionEvent(_ connection: HTTPClientConnection) {
        let count = read(connection.fd, readBuffer.baseAddress, readBuffer.count)
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return }
        idle[connection.kind.rawValue].remove(connection.index)
        closeSocket(connection)
        connection.reopenAt = MonotonicClock.now()
        closed[connection.kind.rawValue].append(connection.index)
    }

    // MARK: - Failures

    /// A reused keep-alive connection that fails before any byte of the response arrived was most
    /// likely closed by the server just as the request went out; the request is resent once on a
    /// fresh connection (its latency still counts from the first attempt). Anything else fails.
    func failOrRetry(_ connection: HTTPClientConnection, _ failure: RequestFailure) {
        if var request = connection.request, !request.retried, connection.responsesOnSocket > 0, !connection.parser.hasReceivedBytes {
            closeSocket(connection)
            request.retried = true
            request.sent = 0
            connection.request = request
            statistics.retries += 1
            open(connection)
            return
        }
        fail(connection, failure)
    }

    /// Counts the request on `connection` (if any) as failed and closes the socket, with a backoff
    /// before reopening when the socket never produced a response.
    func fail(_ connection: HTTPClientConnection, _ failure: RequestFailure) {
        let now = MonotonicClock.now()
        let socketWorked = connection.responsesOnSocket > 0
        closeSocket(connection)
        if connection.request != nil {
            connection.request = nil
            inFlight -= 1
            statistics.recordFailure(failure, kind: connection.kind)
            counters.finished.wrappingAdd(1, ordering: .relaxed)
            counters.errors.wrappingAdd(1, ordering: .relaxed)
        }
        connection.consecutiveFailures = socketWorked ? 0 : connection.consecutiveFailures + 1
        connection.reopenAt = now + connection.reconnectBackoff
        closed[connection.kind.rawValue].append(connection.index)
    }

    // MARK: - Sockets

    func setInterest(_ connection: HTTPClientConnection, _ events: UInt32) {
        guard connection.interest != events else { return }
        epoll.modify(connection.fd, events: events, token: connection.token)
        connection.interest = events
    }

    /// Closes the socket (which also takes it out of epoll); the connection keeps its request.
    func closeSocket(_ connection: HTTPClientConnection) {
        if connection.fd >= 0 { Glibc.close(connection.fd) }
        connection.fd = -1
        connection.state = .closed
        connection.interest = 0
        connection.responsesOnSocket = 0
        connection.parser.reset()
    }
}
