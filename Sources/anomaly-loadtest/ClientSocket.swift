import Glibc

/// The socket calls of the client side, over plain descriptors that stay inside the driver.
enum ClientSocket {
    /// How a non-blocking connect started.
    enum ConnectOutcome {
        /// Connected at once (common on loopback).
        case connected(Int32)
        /// Under way; the descriptor turns writable when it is done, `pendingError` tells how.
        case inProgress(Int32)
        /// Failed at once, with `errno`.
        case failed(Int32)
    }

    /// Opens a non-blocking TCP socket with `TCP_NODELAY` and starts connecting it.
    static func connect(to address: SocketAddress) -> ConnectOutcome {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(address.family, flags, 0)
        guard fd >= 0 else { return .failed(errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if result == 0 { return .connected(fd) }
        let code = errno
        if code == EINPROGRESS || code == EINTR { return .inProgress(fd) }
        Glibc.close(fd)
        return .failed(code)
    }

    /// The outcome of a finished non-blocking connect: 0, or the `errno` it failed with.
    static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }

    /// Raises the soft open-file limit to the hard one, so that thousands of connections fit.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
