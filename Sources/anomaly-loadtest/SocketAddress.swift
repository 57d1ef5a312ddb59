import Glibc

/// A resolved TCP address, copied out of `getaddrinfo` so that it can be shared by the driver threads.
struct SocketAddress: Sendable {
    /// `AF_INET` or `AF_INET6`.
    let family: Int32
    private let storage: sockaddr_storage
    private let length: socklen_t

    /// Resolves a host and port once, before the run, preferring IPv4 when the name has both.
    /// - Throws: `LoadTestError` naming the host when it does not resolve.
    static func resolve(host: String, port: Int) throws -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw LoadTestError("cannot resolve \(host):\(port): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }
        var chosen = first
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let current = candidate {
            if current.pointee.ai_family == AF_INET {
                chosen = current
                break
            }
            candidate = current.pointee.ai_next
        }
        return SocketAddress(family: chosen.pointee.ai_family, address: chosen.pointee.ai_addr, length: chosen.pointee.ai_addrlen)
    }

    private init(family: Int32, address: UnsafePointer<sockaddr>, length: socklen_t) {
        var storage = sockaddr_storage()
        let copied = min(Int(length), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(start: address, count: copied))
        }
        self.family = family
        self.storage = storage
        self.length = socklen_t(copied)
    }

    /// Calls `body` with the address as the socket calls take it.
    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}
