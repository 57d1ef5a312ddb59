import Testing
@testable import HTTPServer

@Suite("Router")
struct RouterTests {
    private func makeRouter() -> Router {
        var router = Router()
        router.get("/livez", execution: .inline) { _ in .text("live") }
        router.post("/fit/:series_id") { request in .text("fit " + (request.pathParameters["series_id"] ?? "?")) }
        router.get("/models/:series_id/versions/:version") { _ in .text("v") }
        router.get("/models") { _ in .text("list") }
        return router
    }

    @Test func preconditionsAreAttachedToTheRoutesTheyChooseIncludingLaterOnes() throws {
        var router = makeRouter()
        let refuse: Router.Precondition = { _ in }
        router.require { method, pattern in method == .post && pattern != "/open" ? refuse : nil }
        router.add(.post, "/predict/:series_id", execution: .inlineFirst(fastPath: { _ in .text("fast") })) { _ in .text("slow") }
        router.post("/open") { _ in .text("open") }
        func precondition(_ method: HTTPMethod, _ path: Substring) -> Router.Precondition? {
            guard case .matched(let route, _) = router.resolve(method: method, path: path) else { return nil }
            return route.precondition
        }
        #expect(precondition(.post, "/fit/a") != nil)
        #expect(precondition(.post, "/predict/a") != nil, "a route added after require is guarded too")
        #expect(precondition(.post, "/open") == nil)
        #expect(precondition(.get, "/livez") == nil)
        #expect(precondition(.head, "/models") == nil)
    }

    @Test func literalRouteMatches() throws {
        guard case .matched(let route, let parameters) = makeRouter().resolve(method: .get, path: "/livez") else {
            Issue.record("no match")
            return
        }
        #expect(route.pattern == "/livez")
        guard case .inline = route.execution else {
            Issue.record("expected inline execution")
            return
        }
        #expect(parameters.isEmpty)
    }

    @Test func parametersAreCapturedAndPercentDecoded() {
        guard case .matched(let route, let parameters) = makeRouter().resolve(method: .post, path: "/fit/temp%20sensor%2F1") else {
            Issue.record("no match")
            return
        }
        #expect(route.pattern == "/fit/:series_id")
        #expect(parameters == ["series_id": "temp sensor/1"])
        guard case .matched(_, let two) = makeRouter().resolve(method: .get, path: "/models/a/versions/3") else {
            Issue.record("no match")
            return
        }
        #expect(two == ["series_id": "a", "version": "3"])
    }

    @Test func wrongMethodListsTheAllowedOnes() {
        guard case .methodNotAllowed(let allowed) = makeRouter().resolve(method: .get, path: "/fit/x") else {
            Issue.record("expected 405")
            return
        }
        #expect(allowed == [.post])
        guard case .methodNotAllowed(let getAllowed) = makeRouter().resolve(method: .delete, path: "/livez") else {
            Issue.record("expected 405")
            return
        }
        #expect(getAllowed == [.get, .head])
    }

    @Test func headFallsBackToGet() {
        guard case .matched(let route, _) = makeRouter().resolve(method: .head, path: "/models") else {
            Issue.record("no match")
            return
        }
        #expect(route.method == .get)
    }

    @Test func unknownPathsAndEmptyParametersAreNotFound() {
        let router = makeRouter()
        for path in ["/nope", "/fit", "/fit/", "/fit/a/b", "/livez/", ""] {
            guard case .notFound = router.resolve(method: .post, path: path[...]) else {
                Issue.record("\(path) should be 404")
                continue
            }
        }
    }

    @Test func plainPathsMatchByteForByteAsSlicesOfTheTarget() {
        let router = makeRouter()
        // The path is a Substring of the whole target, as HTTPRequest.path gives it: offsets are the slice's own.
        let target = "/models/sensor-7/versions/12?x=1"
        guard case .matched(let route, let parameters) = router.resolve(method: .get, path: target[..<target.firstIndex(of: "?")!]) else {
            Issue.record("no match")
            return
        }
        #expect(route.pattern == "/models/:series_id/versions/:version")
        #expect(parameters == ["series_id": "sensor-7", "version": "12"])
        // Same length as a literal route or a literal segment, one byte different: no match.
        for path in ["/livey", "/Livez", "/fiT/a", "/models/a/version/3"] {
            guard case .notFound = router.resolve(method: .get, path: path[...]) else {
                Issue.record("\(path) should be 404")
                continue
            }
        }
    }

    @Test func encodedLiteralPathStillMatches() {
        guard case .matched(let route, _) = makeRouter().resolve(method: .get, path: "/li%76ez") else {
            Issue.record("no match")
            return
        }
        #expect(route.pattern == "/livez")
    }

    @Test func badEscapesAreRejected() {
        for path in ["/fit/%zz", "/fit/%C3%28", "/fit/%"] {
            guard case .badPath = makeRouter().resolve(method: .post, path: path[...]) else {
                Issue.record("\(path) should be a bad path")
                continue
            }
        }
    }
}

@Suite("Percent-decoding and query strings")
struct QueryTests {
    @Test func decodesEscapesAndUTF8() {
        #expect(PercentDecoding.decode("a%20b%2Fc") == "a b/c")
        #expect(PercentDecoding.decode("caf%C3%A9") == "café")
        #expect(PercentDecoding.decode("plain") == "plain")
        #expect(PercentDecoding.decode("a+b") == "a+b")
        #expect(PercentDecoding.decode("a+b", plusAsSpace: true) == "a b")
        #expect(PercentDecoding.decode("%4") == nil)
        #expect(PercentDecoding.decode("%FF") == nil)
    }

    @Test func parsesPairsInOrderWithRepeats() {
        let query = QueryParameters(parsing: "series_id=temp%20sensor&version=v3&flag&x=1&x=2&&=empty")
        #expect(query["series_id"] == "temp sensor")
        #expect(query["version"] == "v3")
        #expect(query["flag"] == "")
        #expect(query.values(for: "x") == ["1", "2"])
        #expect(query[""] == "empty")
        #expect(query.malformed.isEmpty)
    }

    @Test func reportsMalformedPairs() {
        let query = QueryParameters(parsing: "good=1&bad=%G1")
        #expect(query["good"] == "1")
        #expect(query["bad"] == nil)
        #expect(query.malformed == ["bad=%G1"])
    }

    @Test func requestSplitsPathAndQuery() {
        let request = HTTPRequest(method: .get, target: "/plot?series_id=s&version=3")
        #expect(request.path == "/plot")
        #expect(request.query["version"] == "3")
        #expect(HTTPRequest(method: .get, target: "/plot").rawQuery.isEmpty)
    }

    @Test(arguments: [
        // Targets of up to 15 bytes are stored inline in the String, longer ones on the heap: both are searched.
        ("/p?q", "/p", "q"), ("/p?", "/p", ""), ("?q", "", "q"), ("/p?a?b", "/p", "a?b"), ("/p", "/p", ""),
        ("/predict/a-long-series-name?version=3", "/predict/a-long-series-name", "version=3"),
        ("/predict/a-long-series-name-without-a-query", "/predict/a-long-series-name-without-a-query", ""),
    ])
    func pathEndsAtTheFirstQuestionMark(target: String, path: String, query: String) {
        let request = HTTPRequest(method: .get, target: target)
        #expect(request.path == path[...])
        #expect(request.rawQuery == query[...])
    }
}

@Suite("Response serialization")
struct ResponseSerializationTests {
    private func serialize(_ response: HTTPResponse, keepAlive: Bool = true, head: Bool = false, http10: Bool = false) -> String {
        var output: [UInt8] = []
        response.serialize(into: &output, framing: ResponseFraming(keepAlive: keepAlive, omitBody: head, http10: http10), fixedHeaders: Array("Server: s\r\nDate: d\r\n".utf8))
        return String(decoding: output, as: UTF8.self)
    }

    @Test func alwaysSendsContentLengthAndFixedHeaders() {
        let text = serialize(.text("hello"))
        #expect(text == "HTTP/1.1 200 OK\r\nServer: s\r\nDate: d\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello")
        #expect(serialize(HTTPResponse()).contains("Content-Length: 0\r\n"))
        #expect(serialize(HTTPResponse(body: [UInt8](repeating: 0, count: 1_234_567))).contains("Content-Length: 1234567\r\n"))
    }

    @Test func closingAndHTTP10KeepAliveAreAnnounced() {
        #expect(serialize(.text("x"), keepAlive: false).contains("Connection: close\r\n"))
        #expect(serialize(.text("x"), http10: true).contains("Connection: keep-alive\r\n"))
        #expect(!serialize(.text("x")).contains("Connection:"))
    }

    @Test func headKeepsTheLengthButDropsTheBody() {
        let text = serialize(.text("hello"), head: true)
        #expect(text.hasSuffix("Content-Length: 5\r\n\r\n"))
    }

    @Test func handlerCannotOverrideFraming() {
        let response = HTTPResponse(headers: ["Content-Length": "99", "Connection": "keep-alive", "X-Own": "1"], body: Array("ab".utf8))
        let text = serialize(response, keepAlive: false)
        #expect(text.contains("Content-Length: 2\r\n"))
        #expect(!text.contains("99"))
        #expect(text.contains("X-Own: 1\r\n"))
        #expect(text.contains("Connection: close\r\n"))
    }

    @Test func dateIsIMFFixdate() {
        #expect(HTTPDate.format(epochSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(epochSeconds: 1_609_459_200) == "Fri, 01 Jan 2021 00:00:00 GMT")
    }

    @Test func errorBodyHasTheSharedShape() throws {
        let response = HTTPResponse.error(HTTPError(.unprocessableContent, code: "validation_error", message: "values[2] is not finite", field: "values[2]"))
        #expect(response.status.code == 422)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"error":"validation_error","field":"values[2]","message":"values[2] is not finite"}"#)
        #expect(response.headers["content-type"] == "application/json")
    }
}
