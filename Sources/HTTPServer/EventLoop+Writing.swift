import Glibc

extension EventLoop {
    func flush(_ connection: Connection) {
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
        guard connections[Int(connection.fd)] === connection else { return }
        connections[Int(connection.fd)] = nil
        liveConnections -= 1
        shared.openConnections.wrappingSubtract(1, ordering: .relaxed)
        epoll.remove(connection.fd)
        close(connection.fd)
    }

    /// Moves the connection to the phase its state implies and (re)starts that phase's timeout.
    /// Called after every read and write, so an idle connection's keep-alive clock restarts after each response.
    func updatePhase(_ connection: Connection) {
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

    func updateInterest(_ connection: Connection) {
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
                connection.mayStillBeSending = true
                write(.error(timeout), framing: ResponseFraming(keepAlive: false, omitBody: false, http10: false), to: connection)
                flush(connection)
            case .idle, .lingering, .handling:
                closeConnection(connection)
            }
        }
    }
}
