import CSystemShims
import Glibc

/// An epoll instance used level-triggered. Each registration carries a 64-bit token.
struct Epoll {
    let fd: Int32

    init() throws {
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw SocketError("epoll_create1") }
    }

    static let readable = EPOLLIN.rawValue
    static let writable = EPOLLOUT.rawValue
    static let hangUp = EPOLLHUP.rawValue | EPOLLERR.rawValue

    func add(_ descriptor: Int32, events: UInt32, token: UInt64) throws {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        guard epoll_ctl(fd, EPOLL_CTL_ADD, descriptor, &event) == 0 else { throw SocketError("epoll_ctl add") }
    }

    func modify(_ descriptor: Int32, events: UInt32, token: UInt64) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        _ = epoll_ctl(fd, EPOLL_CTL_MOD, descriptor, &event)
    }

    func remove(_ descriptor: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, descriptor, &event)
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

/// An eventfd another thread writes to wake a loop blocked in `epoll_wait`.
struct WakeSignal {
    let fd: Int32

    init() throws {
        fd = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard fd >= 0 else { throw SocketError("eventfd") }
    }

    func wake() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    func drain() {
        var value: UInt64 = 0
        _ = read(fd, &value, 8)
    }
}
