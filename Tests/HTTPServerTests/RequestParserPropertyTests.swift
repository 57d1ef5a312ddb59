import Testing
@testable import HTTPServer

/// A deterministic generator, so that a failing case can be replayed from its seed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private enum Outcome: Equatable {
    case request(String, [UInt8])
    case failure(Int)
}

private func outcomes(_ bytes: [UInt8], splitSizes: [Int]) -> [Outcome] {
    var parser = RequestParser(limits: RequestLimits(maxTargetLength: 256, maxHeaderSectionBytes: 1024, maxHeaderCount: 16, maxBodyBytes: 2048))
    var result: [Outcome] = []
    var offset = 0
    var index = 0
    while offset < bytes.count {
        let end = splitSizes.isEmpty ? bytes.count : min(bytes.count, offset + splitSizes[index % splitSizes.count])
        index += 1
        parser.append(contentsOf: bytes[offset..<end])
        offset = end
        while let event = parser.next() {
            switch event {
            case .request(let request): result.append(.request(request.target, request.body))
            case .failure(let error): result.append(.failure(error.status.code))
            case .continueExpected: break
            }
        }
    }
    return result
}

@Suite("Request parser properties")
struct RequestParserPropertyTests {
    static let corpus: [String] = [
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST /fit/s HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        "POST /e HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "GET /q?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    ]

    @Test func randomSplitsOfValidStreamsGiveTheSameRequests() {
        var random = SplitMix64(state: 42)
        for _ in 0..<500 {
            let stream = (0..<Int.random(in: 1...8, using: &random)).map { _ in Self.corpus.randomElement(using: &random)! }.joined()
            let bytes = Array(stream.utf8)
            let whole = outcomes(bytes, splitSizes: [])
            #expect(whole.allSatisfy { if case .request = $0 { return true } else { return false } })
            let splits = (0..<5).map { _ in Int.random(in: 1...20, using: &random) }
            #expect(outcomes(bytes, splitSizes: splits) == whole, "stream \(stream.debugDescription) splits \(splits)")
        }
    }

    @Test func mutatedStreamsNeverCrashAndSplitsAgree() {
        var random = SplitMix64(state: 7)
        let interesting: [UInt8] = Array("\r\n :;0aA-/%?HTTP\t".utf8) + [0, 0x7F, 0xFF]
        for _ in 0..<3000 {
            var bytes = Array((0..<Int.random(in: 1...4, using: &random)).map { _ in Self.corpus.randomElement(using: &random)! }.joined().utf8)
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = interesting.randomElement(using: &random)!
                case 1: bytes.insert(interesting.randomElement(using: &random)!, at: position)
                default: bytes.remove(at: position)
                }
                if bytes.isEmpty { bytes = [0x0A] }
            }
            let whole = outcomes(bytes, splitSizes: [])
            #expect(outcomes(bytes, splitSizes: [1]) == whole, "input \(bytes)")
            #expect(outcomes(bytes, splitSizes: [Int.random(in: 2...9, using: &random)]) == whole, "input \(bytes)")
        }
    }
}
