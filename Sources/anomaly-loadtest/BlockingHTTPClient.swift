import Glibc

/// One request, one response, waiting with `poll`: for the initial fit, where speed does not matter.
enum BlockingHTTPClient {
    /// Sends `request` on a new connection and reads the response.
    /// - Parameters:
    ///   - request: the complete request bytes.
    ///   - address: the server.
    ///   - timeout: seconds for the whole exchange.
    /// - Returns: the response, with up to 1 MiB of its body.
    /// - Throws: `LoadTestError` describing the socket error, timeout or malformed response.
    static func exchange(_ request: [UInt8], with address: SocketAddress, timeout: Double) throws -> HTTPClientResponse {
        let deadline = MonotonicClock.now() + UInt64(timeout * 1e9)
        let fd: Int32
        switch ClientSocket.connect(to: address) {
        case .connected(let connected):
            fd = connected
        case .inProgress(let connecting):
            fd = connecting
            do {
                try waitFor(Int16(POLLOUT), on: fd, until: deadline)
            } catch {
                close(fd)
                throw error
            }
            let code = ClientSocket.pendingError(fd)
            guard code == 0 else {
                close(fd)
                throw LoadTestError("connect: \(String(cString: strerror(code)))")
            }
        case .failed(let code):
            throw LoadTestError("connect: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }

        var sent = 0
        while sent < request.count {
            let written = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if written > 0 {
                sent += written
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try waitFor(Int16(POLLOUT), on: fd, until: deadline)
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                throw LoadTestError("send: \(String(cString: strerror(errno)))")
            }
        }

        var parser = HTTPResponseParser(limits: .init(maxRetainedBodyBytes: 1 << 20))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        do {
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if case .complete(let response, _) = try parser.parse(Array(buffer[0..<count])) { return response }
                } else if count == 0 {
                    return try parser.finishAtEndOfStream()
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    try waitFor(Int16(POLLIN), on: fd, until: deadline)
                } else if errno != EINTR {
                    throw LoadTestError("read: \(String(cString: strerror(errno)))")
                }
            }
        } catch let error as HTTPResponseParseError {
            throw LoadTestError("bad response: \(error)")
        }
    }

    private static func waitFor(_ events: Int16, on fd: Int32, until deadline: UInt64) throws {
        while true {
            let now = MonotonicClock.now()
            guard now < deadline else { throw LoadTestError("timed out") }
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let milliseconds = Int32(min((deadline - now) / 1_000_000 + 1, UInt64(Int32.max)))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw LoadTestError("poll: \(String(cString: strerror(errno)))") }
        }
    }
}
