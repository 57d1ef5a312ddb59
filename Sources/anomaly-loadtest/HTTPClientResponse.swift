/// A complete HTTP response as the load driver needs it.
struct HTTPClientResponse: Sendable, Equatable {
    /// The status code, e.g. 200.
    var status: Int
    /// Whether the server lets the connection carry another request.
    var keepAlive: Bool
    /// The body, up to the parser's retention limit (the rest is counted, not kept).
    var body: [UInt8]
    /// The full body length as received, even when only a prefix was kept.
    var bodyLength: Int
}
