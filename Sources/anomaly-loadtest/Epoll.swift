import CSystemShims
import Glibc

/// A level-triggered epoll set; each registration carries a 64-bit token naming the connection.
struct Epoll {
    let fd: Int32

    static let readable = EPOLLIN.rawValue
    static let writable = EPOLLOUT.rawValue

    /// - Throws: `LoadTestError` when the kernel refuses an epoll instance.
    init() throws {
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw LoadTestError("epoll_create1: \(String(cString: strerror(errno)))") }
    }

    /// Registers a descriptor. - Returns: whether the kernel accepted it.
    func add(_ descriptor: Int32, events: UInt32, token: UInt64) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        return epoll_ctl(fd, EPOLL_CTL_ADD, descriptor, &event) == 0
    }

    func modify(_ descriptor: Int32, events: UInt32, token: UInt64) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        _ = epoll_ctl(fd, EPOLL_CTL_MOD, descriptor, &event)
    }

    /// Waits for events; returns how many were written into `events`.
    func wait(into events: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: Int32) -> Int {
        let count = epoll_wait(fd, events.baseAddress, Int32(events.count), timeoutMilliseconds)
        return count < 0 ? 0 : Int(count)
    }

    func close() {
        _ = Glibc.close(fd)
    }
}
