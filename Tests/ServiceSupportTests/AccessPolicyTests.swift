import Foundation
import HTTPServer
import Testing
@testable import ServiceSupport

@Suite("Access policy")
struct AccessPolicyTests {
    private let write = "write-token-0123456789", read = "read-token-0123456789"

    private func request(_ method: HTTPMethod = .post, authorization: String? = nil) -> HTTPRequest {
        var headers: HTTPHeaders = [:]
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        return HTTPRequest(method: method, target: "/", headers: headers)
    }

    private func refusal(_ check: Router.Precondition, _ request: HTTPRequest) -> HTTPError? {
        do { try check(request); return nil } catch let error as HTTPError { return error } catch { return nil }
    }

    @Test func offByDefaultSoNoRouteIsGuarded() throws {
        let policy = try AccessPolicy.from(ServiceEnvironment([:]), service: "inference")
        #expect(!policy.isEnabled)
        #expect(policy.precondition(method: .post, pattern: "/predict/:series_id") == nil)
        #expect(policy.precondition(method: .get, pattern: "/healthcheck") == nil)
    }

    @Test func writesNeedTheTokenAndProbesNever() throws {
        let policy = AccessPolicy(writeToken: write, readToken: nil)
        let check = try #require(policy.precondition(method: .post, pattern: "/fit/:series_id"))
        let missing = try #require(refusal(check, request()))
        #expect(missing.status.code == 401 && missing.body.error == "unauthorized")
        #expect(missing.headers["www-authenticate"] == "Bearer realm=\"anomaly-detection\"")
        let wrong = try #require(refusal(check, request(authorization: "Bearer write-token-0123456788")))
        #expect(wrong.body.error == "invalid_token")
        #expect(refusal(check, request(authorization: "Bearer \(write)")) == nil)
        #expect(refusal(check, request(authorization: "bearer  \(write)")) == nil)
        // A prefix, an extension or another scheme of the right token is not the token.
        #expect(refusal(check, request(authorization: "Bearer \(write.dropLast())")) != nil)
        #expect(refusal(check, request(authorization: "Bearer \(write)x")) != nil)
        #expect(refusal(check, request(authorization: "Token \(write)")) != nil)
        // Reads and probes stay open without a read token.
        #expect(policy.precondition(method: .get, pattern: "/healthcheck") == nil)
        #expect(policy.precondition(method: .get, pattern: "/livez") == nil)
    }

    @Test func readsAcceptTheReadOrTheWriteTokenAndBasicForBrowsers() throws {
        let policy = AccessPolicy(writeToken: write, readToken: read)
        let check = try #require(policy.precondition(method: .get, pattern: "/dashboard"))
        #expect(refusal(check, request(.get, authorization: "Bearer \(read)")) == nil)
        #expect(refusal(check, request(.get, authorization: "Bearer \(write)")) == nil)
        let basic = Data("anyone:\(read)".utf8).base64EncodedString()
        #expect(refusal(check, request(.get, authorization: "Basic \(basic)")) == nil)
        let refused = try #require(refusal(check, request(.get)))
        #expect(refused.headers.values(for: "www-authenticate").contains { $0.hasPrefix("Basic ") })
        // The read token does not open writes.
        let writes = try #require(policy.precondition(method: .post, pattern: "/predict/:series_id"))
        #expect(refusal(writes, request(authorization: "Bearer \(read)")) != nil)
        #expect(policy.precondition(method: .get, pattern: "/readyz") == nil)
    }

    @Test func serviceTokensWinAndWeakTokensStopTheServiceWithoutShowingThem() throws {
        let environment = ServiceEnvironment(["API_TOKEN": write, "INFERENCE_API_TOKEN": "inference-only-0123456789"])
        let inference = try AccessPolicy.from(environment, service: "inference")
        let check = try #require(inference.precondition(method: .post, pattern: "/predict/:series_id"))
        #expect(refusal(check, request(authorization: "Bearer inference-only-0123456789")) == nil)
        #expect(refusal(check, request(authorization: "Bearer \(write)")) != nil)
        let training = try AccessPolicy.from(environment, service: "training")
        #expect(refusal(try #require(training.precondition(method: .post, pattern: "/fit/:series_id")), request(authorization: "Bearer \(write)")) == nil)
        for weak in ["short", "has a space in it 0123"] {
            #expect {
                try AccessPolicy.from(ServiceEnvironment(["API_TOKEN": weak]), service: "training")
            } throws: { error in
                "\(error)".contains("API_TOKEN") && !"\(error)".contains(weak)
            }
        }
    }

    @Test func comparisonIsExact() {
        let token = Array(write.utf8)
        #expect(AccessPolicy.constantTimeEquals(token, token))
        #expect(!AccessPolicy.constantTimeEquals(token + [0], token))
        #expect(!AccessPolicy.constantTimeEquals([], token))
        #expect(!AccessPolicy.constantTimeEquals(token, []))
        var flipped = token
        flipped[flipped.count - 1] ^= 1
        #expect(!AccessPolicy.constantTimeEquals(flipped, token))
    }
}
