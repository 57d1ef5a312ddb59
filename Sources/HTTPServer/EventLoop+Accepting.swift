import CSystemShims
import Glibc
import Logging

extension EventLoop {
    func acceptConnections() {
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

    func register(_ fd: Int32) {
        nextConnectionID &+= 1
        let connection = Connection(
            fd: fd, id: nextConnectionID, limits: shared.configuration.limits,
            deadline: now + shared.configuration.timeouts.headerRead.milliseconds, registeredEvents: Epoll.readable
        )
        do {
            try epoll.add(fd, events: Epoll.readable, token: connection.token)
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
    func refuse(_ fd: Int32) {
        Self.capacityRefusal.withUnsafeBytes { bytes in
            _ = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        }
        shutdown(fd, Int32(SHUT_WR))
        close(fd)
    }

    /// Out of descriptors: free the spare one to accept and refuse a client, so the backlog does not
    /// spin. Without a spare, stop polling the listener for a moment instead of busy-looping on EMFILE.
    func refuseWithSpareDescriptor() {
        if spareFD >= 0 {
            close(spareFD)
            spareFD = -1
            let fd = c_shims_accept_nonblocking(listenFD)
            if fd >= 0 { refuse(fd) }
            spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        if spareFD < 0 && listenerPausedUntil == nil && listenFD >= 0 {
            epoll.remove(listenFD)
            listenerPausedUntil = now + Self.sweepIntervalMilliseconds
        }
        if now - lastDescriptorWarning > 5000 {
            lastDescriptorWarning = now
            logger.warning("out of file descriptors; refusing connections", metadata: ["loop": "\(index)", "open": "\(liveConnections)"])
        }
    }

    /// Polls the listener again after an EMFILE pause.
    func resumeAcceptingIfDue() {
        guard let until = listenerPausedUntil, now >= until else { return }
        listenerPausedUntil = nil
        guard listenFD >= 0 else { return }
        if spareFD < 0 { spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC) }
        try? epoll.add(listenFD, events: Epoll.readable, token: Self.listenerToken)
    }
}
