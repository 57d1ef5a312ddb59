/// An incremental HTTP/1.1 request parser (RFC 9112): bytes in, events out, no I/O.
///
/// Bytes may arrive split anywhere, one at a time or many requests at once; `next()` returns
/// one event per call, or `nil` when it needs more bytes. Head scanning resumes where it stopped,
/// so a request trickled byte by byte costs linear time.
public struct RequestParser {
    private enum State {
        case head
        case fixedBody(length: Int)
        case chunkSizeLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed
    }

    private struct PendingHead {
        var method: HTTPMethod
        var target: String
        var version: HTTPVersion
        var headers: HTTPHeaders
    }

    public let limits: RequestLimits
    private var buffer: [UInt8] = []
    /// Index of the first byte not yet consumed.
    private var start = 0
    /// Where scanning for the next line feed resumes, relative to `start`.
    private var scanOffset = 0
    /// Where the line being scanned begins, relative to `start`.
    private var lineStartOffset = 0
    /// Length of the request line with its terminator, once seen, relative to `start`.
    private var requestLineLength: Int?
    private var state = State.head
    private var pending: PendingHead?
    private var body: [UInt8] = []
    private var trailerBytes = 0
    /// Bytes of chunk-size lines (sizes and extensions) of the current body, counted against the body limit.
    private var chunkFramingBytes = 0
    private var skippedEmptyLines = 0
    /// Requests completed so far; lets the connection restart its timeouts on progress.
    public private(set) var completedRequests = 0

    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let bufferReleaseThreshold = 64 * 1024
    private static let maxLeadingEmptyLines = 4
    private static let maxChunkLineLength = 4096

    public init(limits: RequestLimits = RequestLimits()) {
        self.limits = limits
    }

    /// Bytes received but not yet turned into an event.
    public var bufferedByteCount: Int { buffer.count - start }

    /// True when no request is partly received: the connection is between requests.
    public var isBetweenRequests: Bool {
        if case .head = state { return bufferedByteCount == 0 }
        return false
    }

    /// True once a request head is complete and its body is still arriving.
    public var isReadingBody: Bool {
        switch state {
        case .head, .failed: return false
        default: return true
        }
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = state { return }
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    public mutating func append<Bytes: Sequence>(contentsOf bytes: Bytes) where Bytes.Element == UInt8 {
        if case .failed = state { return }
        buffer.append(contentsOf: bytes)
    }

    /// Returns the next event, or `nil` when more bytes are needed (or after a failure).
    public mutating func next() -> RequestParserEvent? {
        while true {
            switch state {
            case .failed:
                return nil
            case .head:
                switch scanHead() {
                case .needMore:
                    return nil
                case .failure(let error):
                    return fail(error)
                case .complete(let headEnd):
                    switch parseHead(from: start, to: headEnd) {
                    case .failure(let error):
                        return fail(error)
                    case .success(let (head, framing, expectsContinue)):
                        start = headEnd
                        resetLineScan()
                        pending = head
                        switch framing {
                        case .none:
                            return complete()
                        case .fixed(let length):
                            state = .fixedBody(length: length)
                            if expectsContinue && bufferedByteCount < length { return .continueExpected }
                        case .chunked:
                            state = .chunkSizeLine
                            if expectsContinue && bufferedByteCount == 0 { return .continueExpected }
                        }
                    }
                }
            case .fixedBody(let length):
                guard bufferedByteCount >= length else { return nil }
                body = Array(buffer[start..<(start + length)])
                start += length
                return complete()
            case .chunkSizeLine:
                guard let line = nextLine() else {
                    if bufferedByteCount > Self.maxChunkLineLength { return fail(.malformed("chunk size line too long")) }
                    return nil
                }
                if line.count > Self.maxChunkLineLength { return fail(.malformed("chunk size line too long")) }
                chunkFramingBytes += line.count + 2
                if chunkFramingBytes > limits.maxBodyBytes - body.count {
                    return fail(.init(.contentTooLarge, "request body exceeds \(limits.maxBodyBytes) bytes with its chunk framing"))
                }
                switch parseChunkSize(line) {
                case .failure(let error):
                    return fail(error)
                case .success(let size):
                    if size == 0 {
                        state = .trailers
                        trailerBytes = 0
                    } else if size > limits.maxBodyBytes - body.count - chunkFramingBytes {
                        return fail(.init(.contentTooLarge, "request body exceeds \(limits.maxBodyBytes) bytes"))
                    } else {
                        state = .chunkData(remaining: size)
                    }
                }
            case .chunkData(let remaining):
                let take = min(remaining, bufferedByteCount)
                guard take > 0 else { return nil }
                body.append(contentsOf: buffer[start..<(start + take)])
                start += take
                compactIfWorthIt()
                state = remaining == take ? .chunkDataEnd : .chunkData(remaining: remaining - take)
                if remaining != take { return nil }
            case .chunkDataEnd:
                guard bufferedByteCount >= 1 else { return nil }
                if buffer[start] == Self.lineFeed {
                    start += 1
                } else if buffer[start] == Self.carriageReturn {
                    guard bufferedByteCount >= 2 else { return nil }
                    guard buffer[start + 1] == Self.lineFeed else { return fail(.malformed("chunk data not followed by CRLF")) }
                    start += 2
                } else {
                    return fail(.malformed("chunk data longer than its declared size"))
                }
                state = .chunkSizeLine
            case .trailers:
                guard let line = nextLine() else {
                    if trailerBytes + bufferedByteCount > limits.maxHeaderSectionBytes {
                        return fail(.init(.requestHeaderFieldsTooLarge, "trailer section too large"))
                    }
                    return nil
                }
                if line.isEmpty { return complete() }
                trailerBytes += line.count + 2
                if trailerBytes > limits.maxHeaderSectionBytes {
                    return fail(.init(.requestHeaderFieldsTooLarge, "trailer section too large"))
                }
                if let error = validateFieldLine(line) { return fail(error) }
            }
        }
    }

    // MARK: - Head

    private enum HeadScan {
        case needMore
        case complete(headEnd: Int)
        case failure(RequestParseError)
    }

    /// Finds the end of the head (an empty line), resuming where the last call stopped.
    private mutating func scanHead() -> HeadScan {
        let count = buffer.count
        while true {
            let from = start + scanOffset
            guard let newline = buffer[from..<count].firstIndex(of: Self.lineFeed) else {
                scanOffset = count - start
                if let requestLineLength {
                    if count - start - requestLineLength > limits.maxHeaderSectionBytes {
                        return .failure(.init(.requestHeaderFieldsTooLarge, "header section exceeds \(limits.maxHeaderSectionBytes) bytes"))
                    }
                } else if count - start > limits.maxTargetLength + 64 {
                    return .failure(.init(.uriTooLong, "request target exceeds \(limits.maxTargetLength) bytes"))
                }
                return .needMore
            }
            let lineStart = start + lineStartOffset
            var lineEnd = newline
            if lineEnd > lineStart && buffer[lineEnd - 1] == Self.carriageReturn { lineEnd -= 1 }
            let isEmpty = lineEnd == lineStart
            if requestLineLength == nil {
                if isEmpty {
                    // RFC 9112 §2.2: ignore empty lines received before the request line, a few at most.
                    skippedEmptyLines += 1
                    if skippedEmptyLines > Self.maxLeadingEmptyLines {
                        return .failure(.malformed("too many empty lines before the request line"))
                    }
                    start = newline + 1
                    resetLineScan()
                    compactIfWorthIt()
                    return scanHead()
                }
                requestLineLength = newline + 1 - start
                if newline - start > limits.maxTargetLength + 64 {
                    return .failure(.init(.uriTooLong, "request target exceeds \(limits.maxTargetLength) bytes"))
                }
            } else if isEmpty {
                return .complete(headEnd: newline + 1)
            } else if newline + 1 - start - requestLineLength! > limits.maxHeaderSectionBytes {
                return .failure(.init(.requestHeaderFieldsTooLarge, "header section exceeds \(limits.maxHeaderSectionBytes) bytes"))
            }
            lineStartOffset = newline + 1 - start
            scanOffset = lineStartOffset
        }
    }

    private enum BodyFraming {
        case none
        case fixed(Int)
        case chunked
    }

    private typealias ParsedHead = (PendingHead, BodyFraming, Bool)

    private func parseHead(from headStart: Int, to headEnd: Int) -> Result<ParsedHead, RequestParseError> {
        // The head ends with an empty line; `headEnd` is just past its line feed.
        var lineStart = headStart
        var requestLine: (HTTPMethod, String, HTTPVersion)?
        var headers = HTTPHeaders(reservingCapacity: 8)
        var framingFields = FramingFields()
        var hostCount = 0
        var expectation: String?
        // Line by line (firstIndex(of:) on the bytes is a fast scan; a per-byte loop here was two thirds of the parse).
        while lineStart < headEnd, let index = buffer[lineStart..<headEnd].firstIndex(of: Self.lineFeed) {
            var end = index
            if end > lineStart && buffer[end - 1] == Self.carriageReturn { end -= 1 }
            let line = lineStart..<end
            lineStart = index + 1
            if line.isEmpty && lineStart == headEnd { break }
            guard requestLine != nil else {
                switch parseRequestLine(line) {
                case .success(let parsed): requestLine = parsed
                case .failure(let error): return .failure(error)
                }
                continue
            }
            if headers.count == limits.maxHeaderCount {
                return .failure(.init(.requestHeaderFieldsTooLarge, "more than \(limits.maxHeaderCount) header fields"))
            }
            let field: HTTPField
            switch parseField(line) {
            case .success(let parsed): field = parsed
            case .failure(let error): return .failure(error)
            }
            // The fields that frame the message, sorted out while they pass (by length first: cheap).
            switch field.name.utf8.count {
            case 4 where HTTPHeaders.namesEqual(field.name, "host"): hostCount += 1
            case 6 where HTTPHeaders.namesEqual(field.name, "expect"): expectation = expectation ?? field.value
            case 14 where HTTPHeaders.namesEqual(field.name, "content-length"): framingFields.addContentLength(field.value)
            case 17 where HTTPHeaders.namesEqual(field.name, "transfer-encoding"): framingFields.transferEncodings.append(field.value)
            default: break
            }
            headers.add(name: field.name, value: field.value)
        }
        guard let (method, target, version) = requestLine else { return .failure(.malformed("malformed request line")) }

        if hostCount > 1 { return .failure(.malformed("more than one Host header")) }
        if version == .http1_1 && hostCount == 0 { return .failure(.malformed("HTTP/1.1 request without a Host header")) }

        var expectsContinue = false
        if let expectation {
            guard HTTPHeaders.namesEqual(trimmed(expectation[...]), "100-continue") else {
                return .failure(.init(.expectationFailed, "only 'Expect: 100-continue' is supported"))
            }
            expectsContinue = version == .http1_1
        }

        let framing: BodyFraming
        switch bodyFraming(framingFields, version: version) {
        case .success(let value): framing = value
        case .failure(let error): return .failure(error)
        }
        return .success((PendingHead(method: method, target: target, version: version, headers: headers), framing, expectsContinue))
    }

    private func parseRequestLine(_ line: Range<Int>) -> Result<(HTTPMethod, String, HTTPVersion), RequestParseError> {
        guard let firstSpace = buffer[line].firstIndex(of: UInt8(ascii: " ")) else {
            return .failure(.malformed("malformed request line"))
        }
        let methodBytes = buffer[line.lowerBound..<firstSpace]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(Self.isTokenByte) else {
            return .failure(.malformed("malformed request method"))
        }
        guard let secondSpace = buffer[(firstSpace + 1)..<line.upperBound].lastIndex(of: UInt8(ascii: " ")) else {
            return .failure(.malformed("malformed request line: no HTTP version"))
        }
        let versionBytes = buffer[(secondSpace + 1)..<line.upperBound]
        let version: HTTPVersion
        switch Self.parseVersion(versionBytes) {
        case .success(let parsed): version = parsed
        case .failure(let error): return .failure(error)
        }
        let targetBytes = buffer[(firstSpace + 1)..<secondSpace]
        guard !targetBytes.isEmpty else { return .failure(.malformed("empty request target")) }
        guard targetBytes.count <= limits.maxTargetLength else {
            return .failure(.init(.uriTooLong, "request target exceeds \(limits.maxTargetLength) bytes"))
        }
        guard targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.malformed("request target contains a space, a control character or a non-ASCII byte"))
        }
        let method = HTTPMethod(String(decoding: methodBytes, as: UTF8.self))
        guard let target = Self.originForm(String(decoding: targetBytes, as: UTF8.self), method: method) else {
            return .failure(.malformed("unsupported request target form"))
        }
        return .success((method, target, version))
    }

    private static func parseVersion(_ bytes: ArraySlice<UInt8>) -> Result<HTTPVersion, RequestParseError> {
        guard bytes.count >= 6, bytes.prefix(5).elementsEqual("HTTP/".utf8) else {
            return .failure(.malformed("malformed HTTP version"))
        }
        let digits = bytes.dropFirst(5)
        guard let majorByte = digits.first, let major = Int(exactly: majorByte) .map({ $0 - 48 }), (0...9).contains(major) else {
            return .failure(.malformed("malformed HTTP version"))
        }
        var minor = 0
        if digits.count == 3, digits[digits.startIndex + 1] == UInt8(ascii: "."),
           case let minorByte = digits[digits.startIndex + 2], (48...57).contains(minorByte) {
            minor = Int(minorByte) - 48
        } else if !(digits.count == 1 && major >= 2) {
            return .failure(.malformed("malformed HTTP version"))
        }
        guard major == 1 else {
            return .failure(.init(.httpVersionNotSupported, "only HTTP/1.0 and HTTP/1.1 are supported"))
        }
        // RFC 9110 §6.2: a higher minor version is answered as the highest we speak.
        return .success(HTTPVersion(major: 1, minor: min(minor, 1)))
    }

    /// Reduces absolute-form (`http://host/path`) to origin-form; `*` only for OPTIONS.
    private static func originForm(_ target: String, method: HTTPMethod) -> String? {
        if target.utf8.first == UInt8(ascii: "/") { return target }
        if target == "*" { return method == .options ? target : nil }
        for scheme in ["http://", "https://"] where target.count > scheme.count && HTTPHeaders.namesEqual(target.prefix(scheme.count), scheme) {
            let rest = target.dropFirst(scheme.count)
            guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
            let path = rest[slash...]
            return path.first == "?" ? "/" + path : String(path)
        }
        return nil
    }

    private func parseField(_ line: Range<Int>) -> Result<HTTPField, RequestParseError> {
        let first = buffer[line.lowerBound]
        if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
            return .failure(.malformed("obsolete line folding in header section"))
        }
        guard let colon = buffer[line].firstIndex(of: UInt8(ascii: ":")) else {
            return .failure(.malformed("header line without a colon"))
        }
        let nameBytes = buffer[line.lowerBound..<colon]
        guard !nameBytes.isEmpty, nameBytes.allSatisfy(Self.isTokenByte) else {
            return .failure(.malformed("invalid header field name"))
        }
        var valueStart = colon + 1
        var valueEnd = line.upperBound
        while valueStart < valueEnd, buffer[valueStart] == UInt8(ascii: " ") || buffer[valueStart] == UInt8(ascii: "\t") { valueStart += 1 }
        while valueEnd > valueStart, buffer[valueEnd - 1] == UInt8(ascii: " ") || buffer[valueEnd - 1] == UInt8(ascii: "\t") { valueEnd -= 1 }
        let valueBytes = buffer[valueStart..<valueEnd]
        guard valueBytes.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            return .failure(.malformed("control character in header field value"))
        }
        return .success(HTTPField(name: String(decoding: nameBytes, as: UTF8.self), value: String(decoding: valueBytes, as: UTF8.self)))
    }

    /// RFC 9112 §6: Transfer-Encoding wins over nothing; with Content-Length it is a smuggling shape and refused.
    private func bodyFraming(_ fields: FramingFields, version: HTTPVersion) -> Result<BodyFraming, RequestParseError> {
        let transferEncodings = fields.transferEncodings
        if transferEncodings.isEmpty && fields.moreContentLengths.isEmpty {
            guard let contentLength = fields.contentLength else { return .success(.none) }
            if let declared = Self.decimal(contentLength) {
                if declared > limits.maxBodyBytes {
                    return .failure(.init(.contentTooLarge, "request body of \(declared) bytes exceeds \(limits.maxBodyBytes) bytes"))
                }
                return .success(declared == 0 ? .none : .fixed(declared))
            }
        }
        let contentLengths = fields.contentLengths
        if !transferEncodings.isEmpty {
            guard contentLengths.isEmpty else {
                return .failure(.malformed("both Content-Length and Transfer-Encoding"))
            }
            guard version == .http1_1 else {
                return .failure(.malformed("Transfer-Encoding in an HTTP/1.0 request"))
            }
            let codings = transferEncodings.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { trimmed($0).lowercased() }
            guard !codings.isEmpty, !codings.contains("") else {
                return .failure(.malformed("empty transfer coding"))
            }
            if codings.filter({ $0 == "chunked" }).count > 1 {
                return .failure(.malformed("chunked applied more than once"))
            }
            if let unsupported = codings.first(where: { $0 != "chunked" }) {
                return .failure(.init(.notImplemented, "transfer coding '\(unsupported)' is not supported"))
            }
            return .success(.chunked)
        }
        guard !contentLengths.isEmpty else { return .success(.none) }
        var length: Int?
        for element in contentLengths.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            guard let value = Self.decimal(trimmed(element)) else {
                return .failure(.malformed("invalid Content-Length"))
            }
            if let length, length != value {
                return .failure(.malformed("conflicting Content-Length values"))
            }
            length = value
        }
        let declared = length!
        if declared > limits.maxBodyBytes {
            return .failure(.init(.contentTooLarge, "request body of \(declared) bytes exceeds \(limits.maxBodyBytes) bytes"))
        }
        return .success(declared == 0 ? .none : .fixed(declared))
    }

    /// The values of the fields that decide how the body is framed, in the order received.
    private struct FramingFields {
        /// The first Content-Length apart, so that the usual single one costs no array.
        var contentLength: String?
        var moreContentLengths: [String] = []
        var transferEncodings: [String] = []

        mutating func addContentLength(_ value: String) {
            if contentLength == nil { contentLength = value } else { moreContentLengths.append(value) }
        }

        var contentLengths: [String] { contentLength.map { [$0] + moreContentLengths } ?? [] }
    }

    /// A Content-Length value: 1 to 18 ASCII digits, nothing else.
    private static func decimal<Text: StringProtocol>(_ text: Text) -> Int? {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    // MARK: - Chunked body

    private mutating func nextLine() -> ArraySlice<UInt8>? {
        let from = start + scanOffset
        guard let newline = buffer[from..<buffer.count].firstIndex(of: Self.lineFeed) else {
            scanOffset = bufferedByteCount
            return nil
        }
        var end = newline
        if end > start && buffer[end - 1] == Self.carriageReturn { end -= 1 }
        let line = buffer[start..<end]
        start = newline + 1
        scanOffset = 0
        return line
    }

    private func parseChunkSize(_ line: ArraySlice<UInt8>) -> Result<Int, RequestParseError> {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex, let value = PercentDecoding.hexValue(line[index]) {
            digits += 1
            if digits > 15 {
                return .failure(.init(.contentTooLarge, "chunk size exceeds \(limits.maxBodyBytes) bytes"))
            }
            size = size << 4 | Int(value)
            index += 1
        }
        guard digits > 0 else { return .failure(.malformed("invalid chunk size")) }
        // Whatever follows the size must be an extension (`;name=value`), possibly after whitespace.
        let rest = line[index...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        if let first = rest.first {
            guard first == UInt8(ascii: ";"), rest.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                return .failure(.malformed("invalid chunk size"))
            }
        }
        return .success(size)
    }

    private func validateFieldLine(_ line: ArraySlice<UInt8>) -> RequestParseError? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
              line[line.startIndex..<colon].allSatisfy(Self.isTokenByte),
              line[colon...].allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            return .malformed("invalid trailer field")
        }
        return nil
    }

    // MARK: - Bookkeeping

    private mutating func complete() -> RequestParserEvent {
        // Taken, not copied: the head's strings and the body move into the request without a retain each.
        let head = pending.take()!
        var takenBody: [UInt8] = []
        swap(&takenBody, &body)
        let request = HTTPRequest(method: head.method, target: head.target, version: head.version, headers: head.headers, body: takenBody)
        state = .head
        chunkFramingBytes = 0
        skippedEmptyLines = 0
        completedRequests += 1
        resetLineScan()
        compactIfWorthIt()
        return .request(request)
    }

    private mutating func fail(_ error: RequestParseError) -> RequestParserEvent {
        state = .failed
        buffer = []
        start = 0
        return .failure(error)
    }

    private mutating func resetLineScan() {
        scanOffset = 0
        lineStartOffset = 0
        requestLineLength = nil
    }

    /// Drops consumed bytes: always when everything is consumed, otherwise once they dominate the buffer.
    /// Offsets are kept relative to `start`, so nothing else needs adjusting.
    private mutating func compactIfWorthIt() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= Self.bufferReleaseThreshold)
            start = 0
        } else if start > Self.bufferReleaseThreshold && start * 2 > buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }

    /// `tchar` of RFC 9110 §5.6.2.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
