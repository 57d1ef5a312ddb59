/// Where a service listens, parsed from an `http://host[:port][/prefix]` URL.
struct ServiceEndpoint: Sendable, Equatable {
    /// Host name or address, without the brackets of an IPv6 literal.
    var host: String
    /// TCP port; 80 when the URL names none.
    var port: Int
    /// Prepended to every request path; empty or starting with `/`, never ending with one.
    var basePath: String

    init(host: String, port: Int, basePath: String = "") {
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Parses a plain-HTTP URL.
    /// - Parameters:
    ///   - url: e.g. `http://127.0.0.1:8001` or `http://[::1]:8001/api`.
    ///   - option: the command-line option it came from, for the error message.
    /// - Throws: `LoadTestError` naming the option when the URL is not `http://` with a host and a valid port.
    init(parsing url: String, option: String) throws {
        let invalid = LoadTestError("\(option): expected http://host[:port][/prefix], got '\(url)'")
        guard url.lowercased().hasPrefix("http://") else { throw invalid }
        var rest = Substring(url.dropFirst("http://".count))
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        guard !rest.contains("@"), !rest.contains("?"), !rest.contains("#"), !path.contains("?"), !path.contains("#") else { throw invalid }
        while path.hasSuffix("/") { path.removeLast() }

        var host = rest
        var port = 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let parsed = Int(after.dropFirst()) else { throw invalid }
                port = parsed
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let parsed = Int(rest[rest.index(after: colon)...]) else { throw invalid }
            port = parsed
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw invalid }
        self.init(host: String(host), port: port, basePath: path)
    }

    /// The `Host` header value.
    var authority: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? bracketed : "\(bracketed):\(port)"
    }

    /// The request target for `path` on this endpoint (the base path prepended).
    func target(_ path: String) -> String {
        basePath + path
    }

    /// The full URL of `path`, for messages and the report.
    func url(_ path: String) -> String {
        "http://\(authority)\(target(path))"
    }
}
