/// Serializes the one kind of request the tool sends: a `POST` with a JSON body.
enum HTTPRequestEncoder {
    /// - Parameters:
    ///   - target: the request target, e.g. `/predict/loadtest`.
    ///   - authority: the `Host` header value.
    ///   - body: the JSON body.
    /// - Returns: the complete request bytes.
    static func post(target: String, authority: String, body: [UInt8]) -> [UInt8] {
        let head = "POST \(target) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: anomaly-loadtest\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }
}
