import Glibc

extension EventLoop {
    /// Writes what the connection has queued; when it is all out, closes, or answers the requests
    /// already buffered (held back by the output high-water mark), and repeats.
    func flush(_ connection: Connection) {
        guard isCurrent(connection) else { return }
        while true {
            let failed = connection.output.withUnsafeBytes { bytes -> Bool in
                while connection.outputOffset < bytes.count {
                    let written = send(connection.fd, bytes.baseAddress! + connection.outputOffset, bytes.count - connection.outputOffset, Int32(MSG_NOSIGNAL))
                    if written > 0 {
                        connection.outputOffset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        return errno != EAGAIN && errno != EWOULDBLOCK
                    }
                }
                return false
            }
            if failed {
                closeConnection(connection)
                return
            }
            if connection.hasPendingOutput { break }
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
            // Requests held back by the high-water mark come first, even when the client has half-closed.
            if connection.phase != .handling && connection.parser.bufferedByteCount > 0 {
                processRequests(connection)
                guard isCurrent(connection) else { return }
                if connection.hasPendingOutput { continue }
            }
            if connection.phase != .handling && (connection.inputClosed || (draining && connection.isQuiescent)) {
                closeConnection(connection)
                return
            }
            break
        }
        updatePhase(connection)
        updateInterest(connection)
    }

    /// Whether `connection` is still the one registered for its descriptor.
    func isCurrent(_ connection: Connection) -> Bool {
        Int(connection.fd) < connections.count && connections[Int(connection.fd)] === connection
    }

    /// Shut the write side and wait briefly for the client's FIN, so that unread request bytes
    /// do not make the kernel reset the connection before the client has read our answer.
    func beginLingering(_ connection: Connection) {
        if connection.inputClosed {
            closeConnection(connection)
            return
        }
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.phase = .lingering
        connection.deadline = now + Self.lingerMilliseconds
        updateInterest(connection)
    }

    func closeConnection(_ connection: Connection) {
        guard isCurrent(connection) else { return }
        connections[Int(connection.fd)] = nil
        liveConnections -= 1
        shared.openConnections.wrappingSubtract(1, ordering: .relaxed)
        epoll.remove(connection.fd)
        close(connection.fd)
    }

    /// Moves the connection to the phase its state implies and restarts the timeout when the
    /// connection made progress: a new phase, a completed request, or output that started waiting.
    /// A header or body timeout thus bounds each request, and the write timeout bounds each response,
    /// however slowly the client trickles.
    func updatePhase(_ connection: Connection) {
        guard connection.phase != .handling && connection.phase != .lingering else { return }
        let phase: Connection.Phase
        if connection.parser.isReadingBody {
            phase = .readingBody
        } else if !connection.parser.isBetweenRequests {
            phase = .readingHead
        } else {
            phase = .idle
        }
        let key = Connection.ProgressKey(phase: phase, completedRequests: connection.parser.completedRequests, writing: connection.hasPendingOutput)
        guard key != connection.progressKey else { return }
        connection.progressKey = key
        connection.phase = phase
        let timeouts = shared.configuration.timeouts
        switch phase {
        case .readingHead: connection.deadline = now + timeouts.headerRead.milliseconds
        case .readingBody: connection.deadline = now + timeouts.bodyRead.milliseconds
        default: connection.deadline = now + (key.writing ? timeouts.write : timeouts.keepAliveIdle).milliseconds
        }
    }

    /// Reads only while the bytes will be parsed: not while a blocking handler runs, not once the
    /// connection is closing (except to drain while lingering), not above the output high-water mark.
    func updateInterest(_ connection: Connection) {
        guard isCurrent(connection) else { return }
        var events: UInt32 = 0
        let wantsInput: Bool
        switch connection.phase {
        case .lingering: wantsInput = true
        case .handling: wantsInput = false
        default: wantsInput = !connection.inputClosed && !connection.closeAfterFlush && connection.output.count < Self.outputHighWater
        }
        if wantsInput { events |= Epoll.readable }
        if connection.hasPendingOutput { events |= Epoll.writable }
        if events != connection.registeredEvents {
            connection.registeredEvents = events
            epoll.modify(connection.fd, events: events, token: connection.token)
        }
    }

    func sweepTimeouts() {
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
                connection.progressKey = nil
                connection.mayStillBeSending = true
                write(.error(timeout), framing: ResponseFraming(keepAlive: false, omitBody: false, http10: false), to: connection)
                flush(connection)
            case .idle, .lingering, .handling:
                closeConnection(connection)
            }
        }
    }
}
