/// How a response is framed on the wire, decided by the connection, not the handler.
struct ResponseFraming {
    /// Keep the connection open after this response.
    var keepAlive: Bool
    /// The request was HEAD: send the headers (with the real Content-Length) and no body.
    var omitBody: Bool
    /// The request was HTTP/1.0: keep-alive must be announced explicitly.
    var http10: Bool
}

extension HTTPResponse {
    /// Appends the serialized response to `output`.
    /// - Parameter fixedHeaders: the pre-rendered `Server:` and `Date:` lines of the loop.
    func serialize(into output: inout [UInt8], framing: ResponseFraming, fixedHeaders: [UInt8]) {
        if status.code == 200, status.reasonPhrase == "OK" {
            output.append(literal: "HTTP/1.1 200 OK\r\n")
        } else {
            output.append(literal: "HTTP/1.1 ")
            appendDecimal(status.code, to: &output)
            output.append(UInt8(ascii: " "))
            output.append(text: status.reasonPhrase)
            output.append(literal: "\r\n")
        }
        output.append(contentsOf: fixedHeaders)
        for field in headers where !Self.isServerOwned(field.name) {
            output.append(text: field.name)
            output.append(literal: ": ")
            output.append(text: field.value)
            output.append(literal: "\r\n")
        }
        if status.code >= 200 && status.code != 204 && status.code != 304 {
            output.append(literal: "Content-Length: ")
            appendDecimal(body.count, to: &output)
            output.append(literal: "\r\n")
        }
        if !framing.keepAlive {
            output.append(literal: "Connection: close\r\n")
        } else if framing.http10 {
            output.append(literal: "Connection: keep-alive\r\n")
        }
        output.append(literal: "\r\n")
        if !framing.omitBody && status.code != 204 && status.code != 304 {
            output.append(contentsOf: body)
        }
    }

    /// Framing headers belong to the server; a handler's copy would contradict the real framing.
    private static func isServerOwned(_ name: String) -> Bool {
        HTTPHeaders.namesEqual(name, "content-length") || HTTPHeaders.namesEqual(name, "connection")
            || HTTPHeaders.namesEqual(name, "transfer-encoding") || HTTPHeaders.namesEqual(name, "date")
            || HTTPHeaders.namesEqual(name, "server")
    }
}

@inline(__always)
func appendDecimal(_ value: Int, to output: inout [UInt8]) {
    if value < 10 {
        output.append(UInt8(ascii: "0") + UInt8(value))
        return
    }
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var remaining = value
    var count = 0
    withUnsafeMutableBytes(of: &digits) { buffer in
        while remaining > 0 {
            buffer[19 - count] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
            count += 1
        }
        output.append(contentsOf: buffer[(20 - count)...])
    }
}

extension [UInt8] {
    /// Appends a literal's bytes in one copy (a `String` literal's `.utf8` is appended element by element).
    @inline(__always)
    mutating func append(literal: StaticString) {
        literal.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// Appends a string's UTF-8 in one copy when it is stored contiguously (native strings are).
    @inline(__always)
    mutating func append(text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }
}
