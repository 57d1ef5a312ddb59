import Testing
@testable import HTTPServer

/// Feeds `text` in pieces of `chunkSize` bytes (0: all at once) and collects every event.
private func parse(_ text: String, chunkSize: Int = 0, limits: RequestLimits = RequestLimits()) -> [RequestParserEvent] {
    parse(Array(text.utf8), chunkSize: chunkSize, limits: limits)
}

private func parse(_ bytes: [UInt8], chunkSize: Int = 0, limits: RequestLimits = RequestLimits()) -> [RequestParserEvent] {
    var parser = RequestParser(limits: limits)
    var events: [RequestParserEvent] = []
    let step = chunkSize == 0 ? max(bytes.count, 1) : chunkSize
    var offset = 0
    repeat {
        let end = min(offset + step, bytes.count)
        parser.append(contentsOf: bytes[offset..<end])
        offset = end
        while let event = parser.next() { events.append(event) }
    } while offset < bytes.count
    return events
}

private func requests(_ events: [RequestParserEvent]) -> [HTTPRequest] {
    events.compactMap { if case .request(let request) = $0 { return request } else { return nil } }
}

private func failure(_ events: [RequestParserEvent]) -> RequestParseError? {
    for event in events { if case .failure(let error) = event { return error } }
    return nil
}

@Suite("Request parser")
struct RequestParserTests {
    let simple = "GET /livez HTTP/1.1\r\nHost: example\r\nUser-Agent: test\r\n\r\n"

    @Test func parsesASimpleRequest() throws {
        let all = requests(parse(simple))
        #expect(all.count == 1)
        let request = try #require(all.first)
        #expect(request.method == .get)
        #expect(request.target == "/livez")
        #expect(request.version == .http1_1)
        #expect(request.headers["HOST"] == "example")
        #expect(request.headers["user-agent"] == "test")
        #expect(request.body.isEmpty)
        #expect(request.wantsKeepAlive)
    }

    @Test("Byte-at-a-time and every split give the same request", arguments: [1, 2, 3, 7, 16])
    func splitsDoNotMatter(chunkSize: Int) throws {
        let text = "POST /fit/a%20b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nX-Twice: 1\r\nx-twice: 2\r\n\r\nhello world"
        let request = try #require(requests(parse(text, chunkSize: chunkSize)).first)
        #expect(request.method == .post)
        #expect(request.path == "/fit/a%20b")
        #expect(request.rawQuery == "x=1")
        #expect(String(decoding: request.body, as: UTF8.self) == "hello world")
        #expect(request.headers.values(for: "X-TWICE") == ["1", "2"])
    }

    @Test func pipelinedRequestsInOneReadComeOutInOrder() {
        let batch = (0..<50).map { "GET /r\($0) HTTP/1.1\r\nHost: h\r\n\r\n" }.joined()
            + "POST /body HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" + "GET /last HTTP/1.1\r\nHost: h\r\n\r\n"
        for chunkSize in [0, 1, 5, 64] {
            let targets = requests(parse(batch, chunkSize: chunkSize)).map(\.target)
            #expect(targets == (0..<50).map { "/r\($0)" } + ["/body", "/last"])
        }
    }

    @Test func incompleteRequestWaitsForMoreBytes() {
        var parser = RequestParser()
        parser.append(contentsOf: Array("GET / HTTP/1.1\r\nHost: h\r\n".utf8))
        #expect(parser.next() == nil)
        #expect(!parser.isBetweenRequests)
        parser.append(contentsOf: Array("\r\n".utf8))
        guard case .request = parser.next() else {
            Issue.record("expected a request")
            return
        }
        #expect(parser.isBetweenRequests)
    }

    @Test func chunkedBodyIsDecodedWithExtensionsAndTrailers() throws {
        let text = "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n"
            + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
        for chunkSize in [0, 1, 3] {
            let all = requests(parse(text, chunkSize: chunkSize))
            #expect(all.count == 2)
            #expect(String(decoding: all[0].body, as: UTF8.self) == "hello 0123456789")
            #expect(all[1].target == "/next")
        }
    }

    @Test func transferEncodingIsCaseInsensitive() throws {
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        #expect(requests(parse(text)).first?.body == Array("abc".utf8))
    }

    @Test func expectContinueIsAnnouncedBeforeTheBody() {
        var parser = RequestParser()
        parser.append(contentsOf: Array("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n".utf8))
        guard case .continueExpected = parser.next() else {
            Issue.record("expected 100-continue")
            return
        }
        #expect(parser.next() == nil)
        parser.append(contentsOf: Array("body".utf8))
        guard case .request(let request) = parser.next() else {
            Issue.record("expected the request")
            return
        }
        #expect(request.body == Array("body".utf8))
    }

    @Test func expectContinueIsSkippedWhenTheBodyIsAlreadyHere() {
        let events = parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody")
        #expect(events.count == 1)
        #expect(requests(events).count == 1)
    }

    @Test func unknownExpectationIs417() {
        #expect(failure(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx"))?.status == .expectationFailed)
    }

    @Test func keepAliveRules() throws {
        let http11Close = try #require(requests(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n")).first)
        #expect(!http11Close.wantsKeepAlive)
        let http10 = try #require(requests(parse("GET / HTTP/1.0\r\n\r\n")).first)
        #expect(http10.version == .http1_0)
        #expect(!http10.wantsKeepAlive)
        let http10KeepAlive = try #require(requests(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).first)
        #expect(http10KeepAlive.wantsKeepAlive)
        let listed = try #require(requests(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, close\r\n\r\n")).first)
        #expect(!listed.wantsKeepAlive)
    }

    @Test func leadingEmptyLinesAndBareLineFeedsAreTolerated() throws {
        let request = try #require(requests(parse("\r\n\r\nGET /x HTTP/1.1\nHost: h\n\n")).first)
        #expect(request.target == "/x")
        #expect(request.headers["host"] == "h")
    }

    @Test func endlessEmptyLinesBeforeARequestAreRefused() {
        #expect(requests(parse(String(repeating: "\r\n", count: 4) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n")).count == 1)
        for chunkSize in [0, 1] {
            #expect(failure(parse(String(repeating: "\r\n", count: 5000), chunkSize: chunkSize))?.status == .badRequest)
        }
        var parser = RequestParser()
        for _ in 0..<3 { parser.append(contentsOf: Array("\r\n".utf8)) ; #expect(parser.next() == nil) }
        #expect(parser.bufferedByteCount == 0, "skipped empty lines must not stay buffered")
    }

    @Test func completedRequestsAreCounted() {
        var parser = RequestParser()
        parser.append(contentsOf: Array("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c".utf8))
        while parser.next() != nil {}
        #expect(parser.completedRequests == 2)
        #expect(!parser.isBetweenRequests)
    }

    @Test func chunkExtensionsCannotBypassTheLimits() {
        let longExtension = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 5000) + "\r\nx\r\n0\r\n\r\n"
        #expect(failure(parse(longExtension))?.status == .badRequest)
        let limits = RequestLimits(maxBodyBytes: 100)
        let manySmall = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + String(repeating: "1;ext=padding\r\nx\r\n", count: 20) + "0\r\n\r\n"
        #expect(failure(parse(manySmall, limits: limits))?.status == .contentTooLarge)
    }

    @Test func absoluteFormIsReducedToOriginForm() throws {
        let request = try #require(requests(parse("GET http://example.com/a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n")).first)
        #expect(request.target == "/a/b?c=d")
        let bare = try #require(requests(parse("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n")).first)
        #expect(bare.target == "/")
    }

    @Test("Malformed requests are 400", arguments: [
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{01}b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n: empty-name\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /\r\n\r\n",
        "GET / FOO/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.x\r\nHost: h\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET nope HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
    ])
    func malformedIs400(text: String) {
        for chunkSize in [0, 1] {
            #expect(failure(parse(text, chunkSize: chunkSize))?.status == .badRequest, "\(text.debugDescription) split \(chunkSize)")
        }
    }

    @Test func identicalDuplicateContentLengthsAreOneLength() throws {
        let request = try #require(requests(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")).first)
        #expect(request.body == Array("ok".utf8))
    }

    @Test func unsupportedTransferCodingIs501() {
        #expect(failure(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"))?.status == .notImplemented)
        #expect(failure(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"))?.status == .notImplemented)
    }

    @Test("HTTP/2 and later request lines are 505", arguments: ["HTTP/2.0", "HTTP/2", "HTTP/3", "HTTP/0.9"])
    func newerVersionsAre505(version: String) {
        #expect(failure(parse("GET / \(version)\r\nHost: h\r\n\r\n"))?.status == .httpVersionNotSupported)
    }

    @Test func http2PrefaceIs505() {
        #expect(failure(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))?.status == .httpVersionNotSupported)
    }

    @Test func higherMinorVersionIsAnsweredAsHTTP11() throws {
        #expect(try #require(requests(parse("GET / HTTP/1.7\r\nHost: h\r\n\r\n")).first).version == .http1_1)
    }

    @Test func longTargetIs414EvenBeforeTheLineEnds() {
        let limits = RequestLimits(maxTargetLength: 100)
        let long = "GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(failure(parse(long, limits: limits))?.status == .uriTooLong)
        let unterminated = "GET /" + String(repeating: "a", count: 300)
        #expect(failure(parse(unterminated, chunkSize: 1, limits: limits))?.status == .uriTooLong)
        let fits = "GET /" + String(repeating: "a", count: 99) + " HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(requests(parse(fits, limits: limits)).count == 1)
    }

    @Test func largeHeaderSectionIs431() {
        let limits = RequestLimits(maxHeaderSectionBytes: 1024)
        let big = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "b", count: 2000) + "\r\n\r\n"
        #expect(failure(parse(big, limits: limits))?.status == .requestHeaderFieldsTooLarge)
        let trickled = "GET / HTTP/1.1\r\nHost: h\r\n" + String(repeating: "X-A: 1\r\n", count: 200)
        #expect(failure(parse(trickled, chunkSize: 1, limits: limits))?.status == .requestHeaderFieldsTooLarge)
    }

    @Test func tooManyHeadersIs431() {
        let limits = RequestLimits(maxHeaderCount: 10)
        let many = "GET / HTTP/1.1\r\nHost: h\r\n" + (0..<10).map { "X-\($0): 1\r\n" }.joined() + "\r\n"
        #expect(failure(parse(many, limits: limits))?.status == .requestHeaderFieldsTooLarge)
    }

    @Test func declaredBodyOverTheLimitIs413BeforeTheBodyArrives() {
        let limits = RequestLimits(maxBodyBytes: 10)
        let events = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits: limits)
        #expect(failure(events)?.status == .contentTooLarge)
        #expect(requests(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits)).count == 1)
    }

    @Test func chunkedBodyOverTheLimitIs413() {
        let limits = RequestLimits(maxBodyBytes: 10)
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n"
        #expect(failure(parse(text, limits: limits))?.status == .contentTooLarge)
        let huge = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n"
        #expect(failure(parse(huge, limits: limits))?.status == .contentTooLarge)
    }

    @Test func nothingIsParsedAfterAFailure() {
        var parser = RequestParser()
        parser.append(contentsOf: Array("BAD\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        guard case .failure = parser.next() else {
            Issue.record("expected a failure")
            return
        }
        #expect(parser.next() == nil)
        parser.append(contentsOf: Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(parser.next() == nil)
    }

    @Test func headersKeepValuesTrimmedAndOrdered() throws {
        let request = try #require(requests(parse("GET / HTTP/1.1\r\nHost: h\r\nX-Space:   padded value \t\r\nAccept: a\r\naccept: b\r\n\r\n")).first)
        #expect(request.headers["x-space"] == "padded value")
        #expect(request.headers.values(for: "Accept") == ["a", "b"])
        #expect(request.headers.count == 4)
    }
}

extension RequestParserEvent: Equatable {
    public static func == (lhs: RequestParserEvent, rhs: RequestParserEvent) -> Bool {
        switch (lhs, rhs) {
        case (.continueExpected, .continueExpected): return true
        case let (.failure(a), .failure(b)): return a == b
        case let (.request(a), .request(b)): return a.target == b.target && a.body == b.body && a.headers == b.headers
        default: return false
        }
    }
}
