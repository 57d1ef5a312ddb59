import AnomalyDetection
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 GET over a POSIX socket with one deadline for the whole exchange, for asking the
/// other services whether they are ready. `Connection: close`, so the body ends where the stream does.
public enum HTTPProbe {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    public enum ProbeError: Error, CustomStringConvertible {
        case badURL(String)
        case connect(String)
        case timeout
        case malformed

        public var description: String {
            switch self {
            case .badURL(let url): return "not an http:// URL with host and port: \(url)"
            case .connect(let reason): return "cannot connect: \(reason)"
            case .timeout: return "no answer in time"
            case .malformed: return "not an HTTP response"
            }
        }
    }

    /// An `http://host:port` base URL, split.
    public static func endpoint(_ url: String) throws -> (host: String, port: UInt16) {
        guard url.hasPrefix("http://") else { throw ProbeError.badURL(url) }
        let authority = url.dropFirst(7).prefix { $0 != "/" }
        guard let colon = authority.lastIndex(of: ":"), let port = UInt16(authority[authority.index(after: colon)...]), colon > authority.startIndex else {
            throw ProbeError.badURL(url)
        }
        return (String(authority[..<colon]), port)
    }

    /// - Parameter authorization: an `Authorization` header value, for services that require a token.
    public static func get(host: String, port: UInt16, path: String, authorization: String? = nil, timeoutMilliseconds: Int = 800) throws -> Response {
        let deadline = MonotonicClock.nanoseconds + UInt64(timeoutMilliseconds) * 1_000_000
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else {
            throw ProbeError.connect("cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProbeError.connect(String(cString: strerror(errno))) }
        defer { close(fd) }
        if connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
            throw ProbeError.connect(String(cString: strerror(errno)))
        }
        try wait(fd, for: Int16(POLLOUT), until: deadline)
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { throw ProbeError.connect(String(cString: strerror(error))) }

        let credentials = authorization.map { "Authorization: \($0)\r\n" } ?? ""
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nUser-Agent: anomaly-monitoring\r\n\(credentials)\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let count = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 { sent += count; continue }
            guard errno == EAGAIN || errno == EINTR else { throw ProbeError.connect(String(cString: strerror(errno))) }
            try wait(fd, for: Int16(POLLOUT), until: deadline)
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while received.count < 4 << 20 {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { received.append(contentsOf: chunk[..<count]); continue }
            if count == 0 { break }
            guard errno == EAGAIN || errno == EINTR else { throw ProbeError.connect(String(cString: strerror(errno))) }
            try wait(fd, for: Int16(POLLIN), until: deadline)
        }
        return try parse(received)
    }

    /// Status and body of a complete `Connection: close` response (chunked bodies are not expected here).
    static func parse(_ bytes: [UInt8]) throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 12, bytes.starts(with: Array("HTTP/1.".utf8)),
              let status = Int(String(decoding: bytes[9..<12], as: UTF8.self)) else { throw ProbeError.malformed }
        var bodyStart = bytes.count
        if bytes.count >= 4 {
            for index in 0...(bytes.count - 4) where bytes[index..<(index + 4)].elementsEqual(separator) {
                bodyStart = index + 4
                break
            }
        }
        return Response(status: status, body: Array(bytes[bodyStart...]))
    }

    private static func wait(_ fd: Int32, for events: Int16, until deadline: UInt64) throws {
        while true {
            let now = MonotonicClock.nanoseconds
            guard now < deadline else { throw ProbeError.timeout }
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&descriptor, 1, Int32((deadline - now) / 1_000_000) + 1)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw ProbeError.connect(String(cString: strerror(errno))) }
        }
    }
}
