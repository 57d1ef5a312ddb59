/// Serializes the one kind of request the tool sends: a `POST` with a JSON body.
enum HTTPRequestEncoder {
    /// - Parameters:
    ///   - target: the request target, e.g. `/predict/loadtest`.
    ///   - authority: the `Host` header value.
    ///   - body: the JSON body.
    ///   - token: sent as `Authorization: Bearer <token>` when the services require one.
    /// - Returns: the complete request bytes.
    static func post(target: String, authority: String, body: [UInt8], token: String? = nil) -> [UInt8] {
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let head = "POST \(target) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: anomaly-loadtest\r\n" + authorization
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }
}
