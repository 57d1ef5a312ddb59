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

    /// A class, so that handing the matched route to the loop is one reference, not a copy of each field.
    public final class Route: Sendable {
        public let method: HTTPMethod
        public let pattern: String
        public let execution: Execution
        public let handler: Handler
        /// Runs before the handler or the fast path; set by `require`.
        public let precondition: Precondition?
        fileprivate let segments: [Segment]

        fileprivate init(method: HTTPMethod, pattern: String, execution: Execution, handler: @escaping Handler, precondition: Precondition?, segments: [Segment]) {
            self.method = method
            self.pattern = pattern
            self.execution = execution
            self.handler = handler
            self.precondition = precondition
            self.segments = segments
        }

        /// The same route guarded by `precondition`.
        fileprivate func guarded(by precondition: Precondition?) -> Route {
            Route(method: method, pattern: pattern, execution: execution, handler: handler, precondition: precondition, segments: segments)
        }
    }

    fileprivate enum Segment: Sendable, Equatable {
        /// A literal segment, as the bytes it matches.
        case literal([UInt8])
        case parameter(String)
    }

    /// The outcome of looking a request up.
    public enum Resolution: Sendable {
        case matched(Route, parameters: PathParameters)
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
        case badPath(String)
    }

    /// Routes without parameters, by the bytes of their exact path, in the order first added.
    private var literalRoutes: [(path: [UInt8], routes: [Route])] = []
    private var parameterRoutes: [Route] = []
    private var preconditionProvider: PreconditionProvider?

    public init() {}

    /// Adds a route.
    /// - Parameters:
    ///   - method: the method it answers; a GET route answers HEAD too.
    ///   - pattern: `/literal/:parameter/...`.
    ///   - execution: `.inline` only for handlers that never block.
    ///   - handler: the code that answers.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, execution: Execution = .blocking, handler: @escaping Handler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part -> Segment in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(Array(part.utf8))
        }
        let route = Route(method: method, pattern: pattern, execution: execution, handler: handler,
                          precondition: preconditionProvider?(method, pattern), segments: segments)
        if segments.contains(where: { if case .parameter = $0 { return true } else { return false } }) {
            parameterRoutes.append(route)
        } else if let index = literalRoutes.firstIndex(where: { $0.path.elementsEqual(pattern.utf8) }) {
            literalRoutes[index].routes.append(route)
        } else {
            literalRoutes.append((Array(pattern.utf8), [route]))
        }
    }

    public mutating func get(_ pattern: String, execution: Execution = .blocking, handler: @escaping Handler) {
        add(.get, pattern, execution: execution, handler: handler)
    }

    public mutating func post(_ pattern: String, execution: Execution = .blocking, handler: @escaping Handler) {
        add(.post, pattern, execution: execution, handler: handler)
    }

    /// Runs on an event-loop thread after each round of socket reads and before any request read in that round is
    /// handled. Whatever a hook learns (say, announcements waiting on another socket) is thus at least as fresh as
    /// every request it precedes, for the price of one call per round instead of one per request.
    public typealias ReadHook = @Sendable () -> Void

    /// The hooks run after each round of reads, in the order added.
    public private(set) var afterReads: [ReadHook] = []

    /// Adds a hook run after each round of reads (see `ReadHook`). It must not block.
    public mutating func afterEachRoundOfReads(_ hook: @escaping ReadHook) {
        afterReads.append(hook)
    }

    /// A check that runs before a route's handler (and before its fast path); it throws (say a 401) to refuse.
    public typealias Precondition = @Sendable (HTTPRequest) throws -> Void

    /// Decides, once per route, which precondition (if any) guards it.
    public typealias PreconditionProvider = @Sendable (HTTPMethod, String) -> Precondition?

    /// Puts `provider(method, pattern)` in front of every route, those added so far and those added later:
    /// access control and the like, decided once per route at start-up instead of in every handler. The event
    /// loop runs it on the loop thread before anything else, so a refused request never takes a slot of the
    /// blocking pool.
    public mutating func require(_ provider: @escaping PreconditionProvider) {
        preconditionProvider = provider
        literalRoutes = literalRoutes.map { ($0.path, $0.routes.map(Self.guarded(by: provider))) }
        parameterRoutes = parameterRoutes.map(Self.guarded(by: provider))
    }

    private static func guarded(by provider: @escaping PreconditionProvider) -> (Route) -> Route {
        { route in route.guarded(by: provider(route.method, route.pattern)) }
    }

    /// Finds the route for `method` and `path` (the percent-encoded path of the target).
    public func resolve(method: HTTPMethod, path: Substring) -> Resolution {
        // The common case, a plain path, is matched in place, on its bytes: literal segments compare as bytes and
        // only the winning route's parameters become Strings (no split, no per-route dictionary, no String indices).
        let bytes = path.utf8.span
        if Self.contains(UInt8(ascii: "%"), in: bytes) {
            return resolveEncoded(method: method, path: path)
        }
        if let routes = literalRoutes.first(where: { Self.equal(bytes, $0.path.span) })?.routes {
            return pick(routes, method: method, parameters: PathParameters())
        }
        var first: PathParameters?
        for route in parameterRoutes {
            guard let parameters = Self.match(route.segments, plainPath: path, bytes: bytes) else { continue }
            if route.method == method { return .matched(route, parameters: parameters) }
            if first == nil { first = parameters }
        }
        // No route of this method: HEAD may fall back to GET, anything else is told what is allowed.
        guard let first else { return .notFound }
        let candidates = parameterRoutes.filter { Self.match($0.segments, plainPath: path, bytes: bytes) != nil }
        return pick(candidates, method: method, parameters: first)
    }

    /// A path with percent-encoded bytes: decoded segment by segment, so that `%2F` stays inside a parameter.
    private func resolveEncoded(method: HTTPMethod, path: Substring) -> Resolution {
        var decodedParts: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let decoded = PercentDecoding.decode(part) else {
                return .badPath("path segment '\(part)' is not valid percent-encoded UTF-8")
            }
            decodedParts.append(decoded)
        }
        let decodedPath = "/" + decodedParts.joined(separator: "/")
        if let routes = literalRoutes.first(where: { $0.path.elementsEqual(decodedPath.utf8) })?.routes {
            return pick(routes, method: method, parameters: PathParameters())
        }
        var candidates: [Route] = []
        var parameters = PathParameters()
        for route in parameterRoutes where route.segments.count == decodedParts.count {
            var captured = PathParameters()
            let matches = zip(route.segments, decodedParts).allSatisfy { segment, part in
                switch segment {
                case .literal(let literal): return literal.elementsEqual(part.utf8)
                case .parameter(let name):
                    captured.append(name: name, value: part)
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

    /// The parameters of `segments` in `path` (no percent-encoding; `bytes` are its UTF-8), or nil when it does not match.
    private static func match(_ segments: [Segment], plainPath path: Substring, bytes: Span<UInt8>) -> PathParameters? {
        let slash = UInt8(ascii: "/")
        var index = 0
        var parameters = PathParameters()
        for segment in segments {
            guard index < bytes.count, bytes[index] == slash else { return nil }
            let start = index + 1
            var end = start
            while end < bytes.count && bytes[end] != slash { end += 1 }
            switch segment {
            case .literal(let literal):
                guard equal(bytes.extracting(start..<end), literal.span) else { return nil }
            case .parameter(let name):
                guard end > start else { return nil }
                let utf8 = path.utf8
                parameters.append(name: name, value: String(path[utf8.index(utf8.startIndex, offsetBy: start)..<utf8.index(utf8.startIndex, offsetBy: end)]))
            }
            index = end
        }
        return index == bytes.count ? parameters : nil
    }

    private static func contains(_ byte: UInt8, in bytes: Span<UInt8>) -> Bool {
        for index in bytes.indices where bytes[index] == byte { return true }
        return false
    }

    /// Whether two runs of bytes are the same.
    private static func equal(_ lhs: Span<UInt8>, _ rhs: Span<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in lhs.indices where lhs[index] != rhs[index] { return false }
        return true
    }

    private func pick(_ routes: [Route], method: HTTPMethod, parameters: PathParameters) -> Resolution {
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
