import Foundation
import Glibc

/// Where Redis listens: from `REDIS_URL` (`redis://[[user]:password@]host[:port][/db]`) or `REDIS_HOST`/`REDIS_PORT`.
public struct RedisEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The ACL user (Redis 6 and later); nil authenticates as the default user.
    public var username: String?
    public var password: String?
    public var database: Int

    public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Whether `text` can be a `REDIS_HOST`: a host name or an IPv4 or IPv6 address, with no scheme, port,
    /// path or spaces (`localhost:6379` or `redis://cache` would otherwise be looked up as names, and fail at
    /// every connection attempt instead of at start-up).
    /// - Parameter text: the variable's value.
    /// - Returns: false for anything with a port, a scheme, a path or a space.
    public static func isHost(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        if text.contains(":") {
            // Only an IPv6 address has a colon (`127.0.0.1:6379` and `db:6379` are a host with a port).
            var address = in6_addr()
            return inet_pton(AF_INET6, text, &address) == 1
        }
        return text.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte | 0x20 >= 97 && byte | 0x20 <= 122) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
        }
    }

    /// Parses a `redis://` URL.
    /// - Returns: nil when the text is not one.
    public init?(url: String) {
        guard url.hasPrefix("redis://") else { return nil }
        var rest = Substring(url.dropFirst("redis://".count))
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else { return nil }
                database = number
            }
            rest = rest[..<slash]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            // Percent-encoded, as in any URL's user information (redis-cli and redis-py decode it too): `p%40ss` is `p@ss`.
            let credentials = rest[..<at]
            if let colon = credentials.firstIndex(of: ":") {
                guard let user = String(credentials[..<colon]).removingPercentEncoding,
                      let secret = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding else { return nil }
                username = user.isEmpty ? nil : user
                // An ACL user logs in even with an empty password (`AUTH user ""`), rather than silently as `default`.
                password = secret.isEmpty && username == nil ? nil : secret
            } else {
                // redis://secret@host: a password alone, as redis-cli reads it.
                guard let secret = String(credentials).removingPercentEncoding else { return nil }
                password = secret.isEmpty ? nil : secret
            }
            rest = rest[rest.index(after: at)...]
        }
        var host = rest.isEmpty ? "127.0.0.1" : String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65_535).contains(number) else { return nil }
            port = number
            host = String(rest[..<colon])
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port, username: username, password: password, database: database)
    }
}
