/// Maps method and path to a handler. Patterns are literal segments and `:name` parameters,
/// e.g. `/fit/:series_id`. Built once at start-up, then read concurrently by every loop thread.
public struct Router: Sendable {
    /// Where a handler runs.
    public enum Execution: Sendable {
        /// On the event-loop thread: for handlers that never block (no I/O, no locks held long).
        case inline
        /// On the bounded blocking pool: for handlers that call Postgres, Redis or sleep.
        case blocking
        /// Tries `fastPath` on the event-loop thread; when it returns nil (say a cache miss that needs I/O),
        /// the route's handler runs on the blocking pool instead.
        case inlineFirst(fastPath: FastPath)
    }

    /// Answers from memory when it can, without blocking; nil hands the request to the blocking handler.
    public typealias FastPath = @Sendable (HTTPRequest) throws -> HTTPResponse?

    /// Answers one request; throw `HTTPError` for a client-visible error.
    public typealias Handler = @Sendable (HTTPRequest) throws -> HTTPResponse

    public struct Route: Sendable {
        public let method: HTTPMethod
        public let pattern: String
        public let execution: Execution
        public let handler: Handler
        fileprivate let segments: [Segment]
    }

    fileprivate enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    /// The outcome of looking a request up.
    public enum Resolution: Sendable {
        case matched(Route, parameters: [String: String])
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
        case badPath(String)
    }

    /// Routes without parameters, by exact path: the common case is one dictionary lookup.
    private var literalRoutes: [String: [Route]] = [:]
    private var parameterRoutes: [Route] = []

    public init() {}

    /// Adds a route.
    /// - Parameters:
    ///   - method: the method it answers; a GET route answers HEAD too.
    ///   - pattern: `/literal/:parameter/...`.
    ///   - execution: `.inline` only for handlers that never block.
    ///   - handler: the code that answers.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, execution: Execution = .blocking, handler: @escaping Handler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part -> Segment in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(String(part))
        }
        let route = Route(method: method, pattern: pattern, execution: execution, handler: handler, segments: segments)
        if segments.contains(where: { if case .parameter = $0 { return true } else { return false } }) {
            parameterRoutes.append(route)
        } else {
            literalRoutes[pattern, default: []].append(route)
        }
    }

    public mutating func get(_ pattern: String, execution: Execution = .blocking, handler: @escaping Handler) {
        add(.get, pattern, execution: execution, handler: handler)
    }

    public mutating func post(_ pattern: String, execution: Execution = .blocking, handler: @escaping Handler) {
        add(.post, pattern, execution: execution, handler: handler)
    }

    /// Finds the route for `method` and `path` (the percent-encoded path of the target).
    public func resolve(method: HTTPMethod, path: Substring) -> Resolution {
        if let routes = literalRoutes[String(path)] {
            return pick(routes, method: method, parameters: [:])
        }
        let parts = Array(path.split(separator: "/", omittingEmptySubsequences: false).dropFirst())
        let encoded = path.utf8.contains(UInt8(ascii: "%"))
        // The common case, a plain path: literal segments compare in place, and only the winning route's
        // parameters become Strings (no closure, no dictionary per route tried).
        if !encoded {
            var candidates: [Route] = []
            for route in parameterRoutes where route.segments.count == parts.count && Self.matchesPlain(route.segments, parts) {
                candidates.append(route)
            }
            guard let first = candidates.first else { return .notFound }
            var parameters: [String: String] = [:]
            for (segment, part) in zip(first.segments, parts) {
                if case .parameter(let name) = segment { parameters[name] = String(part) }
            }
            return pick(candidates, method: method, parameters: parameters)
        }
        var decodedParts: [String] = []
        decodedParts.reserveCapacity(parts.count)
        for part in parts {
            guard let decoded = PercentDecoding.decode(part) else {
                return .badPath("path segment '\(part)' is not valid percent-encoded UTF-8")
            }
            decodedParts.append(decoded)
        }
        if let routes = literalRoutes["/" + decodedParts.joined(separator: "/")] {
            return pick(routes, method: method, parameters: [:])
        }
        var candidates: [Route] = []
        var parameters: [String: String] = [:]
        for route in parameterRoutes where route.segments.count == decodedParts.count {
            var captured: [String: String] = [:]
            let matches = zip(route.segments, decodedParts).allSatisfy { segment, part in
                switch segment {
                case .literal(let literal): return literal == part
                case .parameter(let name):
                    captured[name] = part
                    return !part.isEmpty
                }
            }
            if matches {
                if candidates.isEmpty { parameters = captured }
                candidates.append(route)
            }
        }
        return candidates.isEmpty ? .notFound : pick(candidates, method: method, parameters: parameters)
    }

    private static func matchesPlain(_ segments: [Segment], _ parts: [Substring]) -> Bool {
        for index in segments.indices {
            switch segments[index] {
            case .literal(let literal):
                if !literal.utf8.elementsEqual(parts[index].utf8) { return false }
            case .parameter:
                if parts[index].isEmpty { return false }
            }
        }
        return true
    }

    private func pick(_ routes: [Route], method: HTTPMethod, parameters: [String: String]) -> Resolution {
        if let route = routes.first(where: { $0.method == method }) {
            return .matched(route, parameters: parameters)
        }
        if method == .head, let route = routes.first(where: { $0.method == .get }) {
            return .matched(route, parameters: parameters)
        }
        var allowed = routes.map(\.method)
        if allowed.contains(.get) && !allowed.contains(.head) { allowed.append(.head) }
        return .methodNotAllowed(allowed: allowed)
    }
}
