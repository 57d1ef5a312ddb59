import Testing
@testable import anomaly_loadtest

private func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}

@Suite("HTTP response parser")
struct HTTPResponseParserTests {
    static let simpleBody = bytes("{\"anomaly\": true }")
    static let simple = bytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n") + simpleBody
    static let simpleResponse = HTTPClientResponse(status: 200, keepAlive: true, body: simpleBody, bodyLength: 18)

    static let chunked = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
    static let chunkedResponse = HTTPClientResponse(status: 200, keepAlive: true, body: bytes("hello world"), bodyLength: 11)

    @Test func wholeResponseInOneRead() throws {
        var parser = HTTPResponseParser()
        #expect(try parser.parse(Self.simple) == .complete(Self.simpleResponse, consumed: Self.simple.count))
    }

    @Test func byteByByteCompletesOnTheLastByte() throws {
        var parser = HTTPResponseParser()
        for (index, byte) in Self.simple.enumerated() {
            let outcome = try parser.parse([byte])
            if index < Self.simple.count - 1 {
                #expect(outcome == .needMoreData, "byte \(index)")
            } else {
                #expect(outcome == .complete(Self.simpleResponse, consumed: 1))
            }
        }
    }

    @Test("Content-Length response split in two at every point", arguments: 0...HTTPResponseParserTests.simple.count)
    func contentLengthSplit(at split: Int) throws {
        var parser = HTTPResponseParser()
        let first = try parser.parse(Array(Self.simple[..<split]))
        guard split < Self.simple.count else {
            #expect(first == .complete(Self.simpleResponse, consumed: Self.simple.count))
            return
        }
        #expect(first == .needMoreData)
        #expect(try parser.parse(Array(Self.simple[split...])) == .complete(Self.simpleResponse, consumed: Self.simple.count - split))
    }

    @Test func bytesAfterTheResponseAreNotConsumed() throws {
        var parser = HTTPResponseParser()
        #expect(try parser.parse(Self.simple + bytes("HTTP")) == .complete(Self.simpleResponse, consumed: Self.simple.count))
    }

    @Test("chunked response (extension, trailer) split in two at every point", arguments: 0...HTTPResponseParserTests.chunked.count)
    func chunkedSplit(at split: Int) throws {
        var parser = HTTPResponseParser()
        let first = try parser.parse(Array(Self.chunked[..<split]))
        guard split < Self.chunked.count else {
            #expect(first == .complete(Self.chunkedResponse, consumed: Self.chunked.count))
            return
        }
        #expect(first == .needMoreData)
        #expect(try parser.parse(Array(Self.chunked[split...])) == .complete(Self.chunkedResponse, consumed: Self.chunked.count - split))
    }

    @Test("body without length is read until the server closes", arguments: ["HTTP/1.0 200 OK\r\n\r\nabc", "HTTP/1.1 200 OK\r\n\r\nabc"])
    func bodyUntilClose(_ text: String) throws {
        var parser = HTTPResponseParser()
        #expect(try parser.parse(bytes(text)) == .needMoreData)
        let response = try parser.finishAtEndOfStream()
        #expect(response == HTTPClientResponse(status: 200, keepAlive: false, body: bytes("abc"), bodyLength: 3))
    }

    @Test("keep-alive follows the version and the Connection header", arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HTTPClientResponse(status: 200, keepAlive: true, body: [], bodyLength: 0)),
        ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", HTTPClientResponse(status: 200, keepAlive: false, body: [], bodyLength: 0)),
        ("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", HTTPClientResponse(status: 200, keepAlive: true, body: [], bodyLength: 0)),
        ("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", HTTPClientResponse(status: 503, keepAlive: false, body: bytes("{}"), bodyLength: 2)),
    ])
    func keepAliveRules(_ text: String, expected: HTTPClientResponse) throws {
        var parser = HTTPResponseParser()
        #expect(try parser.parse(bytes(text)) == .complete(expected, consumed: text.utf8.count))
    }

    @Test func interimResponseIsSkippedAnd204HasNoBody() throws {
        let text = bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        var parser = HTTPResponseParser()
        #expect(try parser.parse(text) == .complete(HTTPClientResponse(status: 204, keepAlive: true, body: [], bodyLength: 0), consumed: text.count))
    }

    @Test func notModifiedHasNoBodyDespiteContentLength() throws {
        let text = bytes("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
        var parser = HTTPResponseParser()
        #expect(try parser.parse(text) == .complete(HTTPClientResponse(status: 304, keepAlive: true, body: [], bodyLength: 0), consumed: text.count))
    }

    @Test func closeBeforeTheEndIsTruncatedAndResetForgetsTheBytes() throws {
        var parser = HTTPResponseParser()
        #expect(!parser.hasReceivedBytes)
        #expect(try parser.parse(bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")) == .needMoreData)
        #expect(throws: HTTPResponseParseError.truncated) { try parser.finishAtEndOfStream() }
        #expect(parser.hasReceivedBytes)
        parser.reset()
        #expect(!parser.hasReceivedBytes)
    }

    @Test func bodyBeyondTheRetentionLimitIsCountedNotKept() throws {
        let text = bytes("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789")
        var parser = HTTPResponseParser(limits: .init(maxRetainedBodyBytes: 4))
        #expect(try parser.parse(text) == .complete(HTTPClientResponse(status: 200, keepAlive: true, body: bytes("0123"), bodyLength: 10), consumed: text.count))
    }

    @Test("malformed responses are rejected", arguments: [
        ("HTTP/2 200 OK\r\n\r\n", HTTPResponseParseError.malformedStatusLine),
        ("HTTP/1.1 2x0 OK\r\n\r\n", .malformedStatusLine),
        ("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", .malformedHeader),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", .invalidContentLength),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .invalidContentLength),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .invalidChunk),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", .invalidChunk),
        ("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 300), .headTooLarge),
    ])
    func malformed(_ text: String, expected: HTTPResponseParseError) {
        var parser = HTTPResponseParser(limits: .init(maxHeadBytes: 200))
        #expect(throws: expected) { try parser.parse(bytes(text)) }
    }
}
