/// An incremental HTTP/1.x response parser: feed it bytes as they arrive, get the response once complete.
///
/// It never touches a socket, so it can be driven byte by byte from a test. It handles one
/// response at a time (the load driver never pipelines): `Content-Length`, chunked and
/// read-until-close bodies, bodiless 204/304 responses, and interim 1xx responses, which it skips.
struct HTTPResponseParser {
    /// Size limits that keep a misbehaving server from growing the parser's buffers without bound.
    struct Limits: Sendable {
        /// Longest status line plus headers accepted.
        var maxHeadBytes: Int
        /// Body bytes kept for inspection; the rest of a longer body is counted, not kept.
        var maxRetainedBodyBytes: Int
        /// Longest chunk-size or trailer line accepted.
        var maxLineBytes: Int

        init(maxHeadBytes: Int = 64 * 1024, maxRetainedBodyBytes: Int = 64 * 1024, maxLineBytes: Int = 4096) {
            self.maxHeadBytes = maxHeadBytes
            self.maxRetainedBodyBytes = maxRetainedBodyBytes
            self.maxLineBytes = maxLineBytes
        }
    }

    /// What one call to `parse(_:)` achieved.
    enum Outcome: Equatable {
        /// The response is not complete yet; everything given was consumed.
        case needMoreData
        /// The response is complete; only the first `consumed` bytes of this input belonged to it.
        case complete(HTTPClientResponse, consumed: Int)
    }

    private enum Phase: Equatable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done
    }

    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")

    let limits: Limits
    private var phase = Phase.head
    private var head: [UInt8] = []
    private var headLineLength = 0
    private var headHasContent = false
    private var line: [UInt8] = []
    private var status = 0
    private var keepAlive = true
    private var body: [UInt8] = []
    private var bodyLength = 0

    /// Whether any byte of the current response has arrived. A reused keep-alive connection
    /// that fails before this is the benign close race, and the request is safe to resend.
    private(set) var hasReceivedBytes = false

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Forgets any partial response, ready for the next one on a new or reused connection.
    mutating func reset() {
        phase = .head
        head.removeAll(keepingCapacity: true)
        headLineLength = 0
        headHasContent = false
        line.removeAll(keepingCapacity: true)
        status = 0
        keepAlive = true
        body = []
        bodyLength = 0
        hasReceivedBytes = false
    }

    /// Consumes the next bytes of the stream.
    /// - Parameter bytes: what the socket returned; may hold any fragment of the response.
    /// - Returns: `.complete` with the response and how many of `bytes` it used, or `.needMoreData`.
    /// - Throws: `HTTPResponseParseError` when the bytes cannot be a valid response.
    mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPResponseParseError) -> Outcome {
        if !bytes.isEmpty { hasReceivedBytes = true }
        var offset = 0
        while true {
            switch phase {
            case .done:
                return .complete(takeResponse(), consumed: offset)
            case .head:
                guard let next = try consumeHead(bytes, from: offset) else { return .needMoreData }
                offset = next
            case .fixedBody(let remaining):
                let taken = min(remaining, bytes.count - offset)
                appendBody(bytes, from: offset, count: taken)
                offset += taken
                if taken == remaining {
                    phase = .done
                } else {
                    phase = .fixedBody(remaining: remaining - taken)
                    return .needMoreData
                }
            case .untilClose:
                appendBody(bytes, from: offset, count: bytes.count - offset)
                return .needMoreData
            case .chunkSize:
                guard let next = try readLine(bytes, from: offset) else { return .needMoreData }
                offset = next
                let size = try Self.chunkSize(of: line)
                line.removeAll(keepingCapacity: true)
                phase = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let taken = min(remaining, bytes.count - offset)
                appendBody(bytes, from: offset, count: taken)
                offset += taken
                if taken == remaining {
                    phase = .chunkDataEnd
                } else {
                    phase = .chunkData(remaining: remaining - taken)
                    return .needMoreData
                }
            case .chunkDataEnd:
                guard let next = try readLine(bytes, from: offset) else { return .needMoreData }
                offset = next
                guard line.isEmpty else { throw .invalidChunk }
                phase = .chunkSize
            case .trailers:
                guard let next = try readLine(bytes, from: offset) else { return .needMoreData }
                offset = next
                if line.isEmpty { phase = .done }
                line.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Convenience for tests and the blocking client: parses bytes held in an array.
    mutating func parse(_ bytes: [UInt8]) throws(HTTPResponseParseError) -> Outcome {
        try bytes.withUnsafeBufferPointer { (buffer) throws(HTTPResponseParseError) -> Outcome in try parse(buffer) }
    }

    /// The server closed the connection: completes a read-until-close body.
    /// - Returns: the response, which cannot be kept alive.
    /// - Throws: `HTTPResponseParseError.truncated` when the response was not complete.
    mutating func finishAtEndOfStream() throws(HTTPResponseParseError) -> HTTPClientResponse {
        guard phase == .untilClose || phase == .done else { throw .truncated }
        keepAlive = false
        return takeResponse()
    }

    // MARK: - Head

    /// Buffers head bytes until the empty line; returns the offset after it, or nil when more is needed.
    private mutating func consumeHead(_ bytes: UnsafeBufferPointer<UInt8>, from offset: Int) throws(HTTPResponseParseError) -> Int? {
        var index = offset
        var end: Int?
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == Self.lineFeed {
                if headLineLength == 0 && headHasContent {
                    end = index
                    break
                }
                headLineLength = 0
            } else if byte != Self.carriageReturn {
                headLineLength += 1
                headHasContent = true
            }
        }
        guard head.count + (index - offset) <= limits.maxHeadBytes else { throw .headTooLarge }
        head.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[offset..<index]))
        guard let end else { return nil }
        try interpretHead()
        return end
    }

    /// Parses the buffered head and chooses how the body is framed.
    private mutating func interpretHead() throws(HTTPResponseParseError) {
        var lines = Self.lines(of: head)[...]
        while lines.first?.isEmpty == true { lines.removeFirst() }
        guard let statusLine = lines.popFirst() else { throw .malformedStatusLine }
        let (code, minorVersion) = try Self.parseStatusLine(statusLine)

        var contentLength: Int?
        var transferEncoding: [UInt8]?
        var closeRequested = false
        var keepAliveRequested = false
        for header in lines where !header.isEmpty {
            guard let colon = header.firstIndex(of: UInt8(ascii: ":")), colon > header.startIndex else { throw .malformedHeader }
            let name = header[header.startIndex..<colon]
            guard !name.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) else { throw .malformedHeader }
            let value = Self.trimmed(header[(colon + 1)...])
            if Self.equalsIgnoringCase(name, "content-length") {
                guard let length = Self.decimal(value) else { throw .invalidContentLength }
                if let contentLength, contentLength != length { throw .invalidContentLength }
                contentLength = length
            } else if Self.equalsIgnoringCase(name, "transfer-encoding") {
                transferEncoding = Array(value)
            } else if Self.equalsIgnoringCase(name, "connection") {
                for token in value.split(separator: UInt8(ascii: ",")) {
                    let option = Self.trimmed(token)
                    if Self.equalsIgnoringCase(option, "close") { closeRequested = true }
                    if Self.equalsIgnoringCase(option, "keep-alive") { keepAliveRequested = true }
                }
            }
        }

        head.removeAll(keepingCapacity: true)
        headLineLength = 0
        headHasContent = false
        if (100...199).contains(code) {
            return
        }
        status = code
        keepAlive = !closeRequested && (minorVersion >= 1 || keepAliveRequested)
        if code == 204 || code == 304 {
            phase = .done
        } else if let transferEncoding {
            let codings = transferEncoding.split(separator: UInt8(ascii: ","))
            if let last = codings.last, Self.equalsIgnoringCase(Self.trimmed(last), "chunked") {
                phase = .chunkSize
            } else {
                keepAlive = false
                phase = .untilClose
            }
        } else if let contentLength {
            phase = contentLength == 0 ? .done : .fixedBody(remaining: contentLength)
        } else {
            keepAlive = false
            phase = .untilClose
        }
    }

    /// `HTTP/1.x NNN reason` → (status, minor version).
    private static func parseStatusLine(_ line: ArraySlice<UInt8>) throws(HTTPResponseParseError) -> (Int, Int) {
        let bytes = Array(line)
        let prefix = Array("HTTP/1.".utf8)
        guard bytes.count >= 12, bytes.starts(with: prefix), bytes[8] == UInt8(ascii: " ") else { throw .malformedStatusLine }
        guard let minor = digitValue(bytes[7]) else { throw .malformedStatusLine }
        var code = 0
        for byte in bytes[9..<12] {
            guard let digit = digitValue(byte) else { throw .malformedStatusLine }
            code = code * 10 + digit
        }
        guard bytes.count == 12 || bytes[12] == UInt8(ascii: " "), code >= 100 else { throw .malformedStatusLine }
        return (code, minor)
    }

    // MARK: - Chunked bodies

    /// Buffers a line of a chunked body until its LF; returns the offset after it, or nil when more is needed.
    /// The line, without CR and LF, is left in `line`.
    private mutating func readLine(_ bytes: UnsafeBufferPointer<UInt8>, from offset: Int) throws(HTTPResponseParseError) -> Int? {
        var index = offset
        while index < bytes.count && bytes[index] != Self.lineFeed { index += 1 }
        guard line.count + (index - offset) <= limits.maxLineBytes else { throw .invalidChunk }
        line.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[offset..<index]))
        guard index < bytes.count else { return nil }
        if line.last == Self.carriageReturn { line.removeLast() }
        return index + 1
    }

    /// The size in a chunk-size line (hex digits, optional `;extensions`).
    private static func chunkSize(of line: [UInt8]) throws(HTTPResponseParseError) -> Int {
        let digits = trimmed(line.prefix { $0 != UInt8(ascii: ";") })
        guard !digits.isEmpty, digits.count <= 15 else { throw .invalidChunk }
        var size = 0
        for byte in digits {
            guard let value = hexValue(byte) else { throw .invalidChunk }
            size = size << 4 | value
        }
        return size
    }

    // MARK: - Helpers

    private mutating func appendBody(_ bytes: UnsafeBufferPointer<UInt8>, from offset: Int, count: Int) {
        guard count > 0 else { return }
        bodyLength += count
        let kept = min(count, limits.maxRetainedBodyBytes - body.count)
        if kept > 0 {
            body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[offset..<(offset + kept)]))
        }
    }

    private mutating func takeResponse() -> HTTPClientResponse {
        let response = HTTPClientResponse(status: status, keepAlive: keepAlive, body: body, bodyLength: bodyLength)
        reset()
        return response
    }

    private static func lines(of bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: lineFeed, omittingEmptySubsequences: false).map { line in
            line.last == carriageReturn ? line.dropLast() : line
        }
    }

    private static func trimmed<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> Bytes.SubSequence {
        let isSpace: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        var slice = bytes[...]
        while let first = slice.first, isSpace(first) { slice = slice.dropFirst() }
        while let last = slice.last, isSpace(last) { slice = slice.dropLast() }
        return slice
    }

    /// ASCII case-insensitive comparison against a lowercase literal.
    private static func equalsIgnoringCase<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { actual, wanted in
                (actual >= UInt8(ascii: "A") && actual <= UInt8(ascii: "Z") ? actual | 0x20 : actual) == wanted
            }
        }
    }

    private static func decimal<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard let digit = digitValue(byte) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    private static func digitValue(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        if let digit = digitValue(byte) { return digit }
        let lower = byte | 0x20
        return lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f") ? Int(lower - UInt8(ascii: "a")) + 10 : nil
    }
}
