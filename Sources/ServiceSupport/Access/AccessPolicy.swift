import Foundation
import HTTPServer

/// Who may call what: optional bearer tokens, off unless configured (so the seed curls work as they are).
///
/// - `API_TOKEN` (or, per service, `TRAINING_API_TOKEN` / `INFERENCE_API_TOKEN`, which win) guards every
///   write and every predict: each non-GET route.
/// - `READ_API_TOKEN` guards the readable endpoints (health, metrics, models, dashboard, plots, docs); the
///   write token is accepted there too. Unset, they stay open.
/// - `/livez` and `/readyz` are always open: orchestrators probe them without credentials.
///
/// A token travels as `Authorization: Bearer <token>`, or as the password of HTTP Basic (what a browser
/// offers for the dashboard). Tokens are compared in time that does not depend on where they differ, and
/// never appear in a message or a log.
public struct AccessPolicy: Sendable {
    /// What a route needs.
    public enum Scope: Sendable, Equatable {
        case open, read, write
    }

    public static let realm = "anomaly-detection"
    /// The shortest token accepted at start-up.
    public static let minimumTokenLength = 16

    let writeToken: [UInt8]?
    let readToken: [UInt8]?

    public init(writeToken: String?, readToken: String?) {
        self.writeToken = writeToken.map { Array($0.utf8) }
        self.readToken = readToken.map { Array($0.utf8) }
    }

    /// The policy of `service` (e.g. `training`) from its environment.
    /// - Throws: `ConfigurationError` for a token that is too short or holds characters a header cannot carry
    ///   (the message gives its length, never the token).
    public static func from(_ environment: ServiceEnvironment, service: String) throws -> AccessPolicy {
        let serviceVariable = "\(service.uppercased())_API_TOKEN"
        let writeVariable = environment[serviceVariable] != nil ? serviceVariable : "API_TOKEN"
        return AccessPolicy(writeToken: try token(environment, writeVariable), readToken: try token(environment, "READ_API_TOKEN"))
    }

    private static func token(_ environment: ServiceEnvironment, _ name: String) throws -> String? {
        guard let value = environment[name] else { return nil }
        guard value.utf8.count >= minimumTokenLength, value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ConfigurationError(variable: name, value: "(hidden, \(value.utf8.count) bytes)",
                                     expected: "at least \(minimumTokenLength) visible ASCII characters (no spaces)")
        }
        return value
    }

    /// Whether any token is configured.
    public var isEnabled: Bool { writeToken != nil || readToken != nil }

    /// The scope of a route: probes open, GET/HEAD read, everything else write.
    public static func scope(method: HTTPMethod, pattern: String) -> Scope {
        if pattern == "/livez" || pattern == "/readyz" { return .open }
        return method == .get || method == .head ? .read : .write
    }

    /// The check to put in front of a route, or nil when the route needs none under this policy.
    public func precondition(method: HTTPMethod, pattern: String) -> Router.Precondition? {
        let accepted: [[UInt8]]
        switch Self.scope(method: method, pattern: pattern) {
        case .open: return nil
        case .write:
            guard let writeToken else { return nil }
            accepted = [writeToken]
        case .read:
            guard let readToken else { return nil }
            accepted = [readToken] + (writeToken.map { [$0] } ?? [])
        }
        let browsers = method == .get
        return { request in
            guard let presented = Self.presentedToken(request.headers["authorization"]) else {
                throw Self.unauthorized(code: "unauthorized", message: "this endpoint needs a token: Authorization: Bearer <token>", basic: browsers)
            }
            // Every accepted token is compared, so the time does not tell which one came close.
            var matched = false
            for token in accepted where Self.constantTimeEquals(presented, token) { matched = true }
            guard matched else {
                throw Self.unauthorized(code: "invalid_token", message: "the token is not valid for this endpoint", basic: browsers)
            }
        }
    }

    /// The token in an `Authorization` value: `Bearer <token>`, or the password of `Basic base64(user:password)`.
    static func presentedToken(_ authorization: String?) -> [UInt8]? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return nil }
        let credentials = parts[1].trimmingCharacters(in: .whitespaces)
        switch parts[0].lowercased() {
        case "bearer":
            return credentials.isEmpty ? nil : Array(credentials.utf8)
        case "basic":
            guard let decoded = Data(base64Encoded: credentials), let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            return Array(decoded[decoded.index(after: colon)...])
        default:
            return nil
        }
    }

    /// Equal contents, in time that depends only on the length of `presented`.
    static func constantTimeEquals(_ presented: [UInt8], _ expected: [UInt8]) -> Bool {
        guard !expected.isEmpty else { return false }
        var difference = presented.count == expected.count ? 0 : 1
        for index in presented.indices {
            difference |= Int(presented[index] ^ expected[index % expected.count])
        }
        return difference == 0
    }

    private static func unauthorized(code: String, message: String, basic: Bool) -> HTTPError {
        var headers: HTTPHeaders = [:]
        headers.add(name: "WWW-Authenticate", value: code == "invalid_token" ? "Bearer realm=\"\(realm)\", error=\"invalid_token\"" : "Bearer realm=\"\(realm)\"")
        if basic { headers.add(name: "WWW-Authenticate", value: "Basic realm=\"\(realm)\", charset=\"UTF-8\"") }
        return HTTPError(.unauthorized, code: code, message: message, headers: headers)
    }
}
