import CHiredis
import Glibc

/// One hiredis connection, owned (`deinit` frees it). Commands block up to the timeout; replies are copied
/// out and freed at once. Not thread-safe: `RedisClient` hands it to one thread at a time.
public final class RedisConnection: @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>
    /// Reused by `drainWithoutBlocking`, which runs before every "latest" predict: no allocation per call.
    private var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)

    /// Connects, authenticates and selects the database.
    /// - Parameters:
    ///   - endpoint: where Redis listens.
    ///   - timeoutMilliseconds: for connecting and for each command.
    /// - Throws: `RedisError` of kind `.unavailable` when Redis cannot be reached.
    public init(endpoint: RedisEndpoint, timeoutMilliseconds: Int = 1_000) throws {
        let timeout = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        guard let context = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port), timeout) else {
            throw RedisError(kind: .unavailable, message: "hiredis could not allocate a connection")
        }
        guard context.pointee.err == 0 else {
            let cause = Self.cause(context, errno: errno)
            let message = Self.errorText(context)
            redisFree(context)
            throw RedisError(kind: .unavailable, message: "cannot connect to Redis at \(endpoint.host):\(endpoint.port): \(message)", cause: cause)
        }
        self.context = context
        redisSetTimeout(context, timeout)
        if let password = endpoint.password {
            try expectOK(command(endpoint.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]))
        }
        if endpoint.database != 0 {
            try expectOK(command(["SELECT", String(endpoint.database)]))
        }
    }

    deinit {
        redisFree(context)
    }

    /// False once a command failed at the connection level; the client then reconnects.
    public var isHealthy: Bool { context.pointee.err == 0 }

    /// The socket, for the subscription's non-blocking reads.
    var fileDescriptor: Int32 { context.pointee.fd }

    /// Sends a command and waits for its reply.
    /// - Returns: the reply; an error reply is returned as `.error`, not thrown.
    /// - Throws: `RedisError.unavailable` when the connection broke or timed out.
    public func command(_ arguments: [String]) throws -> RedisReply {
        let buffers = arguments.map { Array($0.utf8) }
        let raw = buffers.withPointers { pointers, lengths in
            pointers.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffers.count) { argv in
                redisCommandArgv(context, Int32(buffers.count), argv, lengths)
            }
        }
        guard let raw else {
            let cause = Self.cause(context, errno: errno)
            throw RedisError(kind: .unavailable, message: "Redis connection failed: \(Self.errorText(context))", cause: cause)
        }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return Self.copy(reply)
    }

    /// Writes a command without waiting for its reply (for the subscription, whose replies arrive among messages).
    /// - Throws: `RedisError.unavailable` when the socket cannot take it.
    func sendWithoutWaiting(_ arguments: [String]) throws {
        let bytes = RedisCommand(arguments).encoded
        let sent = bytes.withUnsafeBytes { send(context.pointee.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        guard sent == bytes.count else {
            throw RedisError(kind: .unavailable, message: "writing to the subscription failed")
        }
    }

    /// Reads whatever the server has sent without waiting, and returns the complete replies in it.
    /// - Throws: `RedisError.unavailable` when the server closed the connection or it broke.
    func drainWithoutBlocking() throws -> [RedisReply] {
        var replies: [RedisReply] = []
        let fd = context.pointee.fd
        while true {
            let count = readBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                let reader = context.pointee.reader
                let fed = readBuffer.withUnsafeBytes { bytes in
                    redisReaderFeed(reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), count)
                }
                guard fed == REDIS_OK else { throw RedisError(kind: .unavailable, message: "Redis protocol error on the subscription") }
                if count < readBuffer.count { break }
            } else if count == 0 {
                throw RedisError(kind: .unavailable, message: "Redis closed the subscription connection")
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                break
            } else if errno != EINTR {
                throw RedisError(kind: .unavailable, message: "reading the subscription failed: \(String(cString: strerror(errno)))")
            }
        }
        // Nothing buffered (the common case: nothing was read): no reply to look for.
        let reader = context.pointee.reader.pointee
        if reader.pos >= reader.len { return replies }
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReplyFromReader(context, &raw) == REDIS_OK else {
                throw RedisError(kind: .unavailable, message: "Redis protocol error on the subscription: \(Self.errorText(context))")
            }
            guard let raw else { break }
            defer { freeReplyObject(raw) }
            replies.append(Self.copy(raw.assumingMemoryBound(to: redisReply.self)))
        }
        return replies
    }

    private func expectOK(_ reply: RedisReply) throws {
        if case .error(let message) = reply {
            throw RedisError(kind: .reply, message: message)
        }
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .string(value.str.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(value.len))) } ?? [])
        case REDIS_REPLY_STATUS:
            return .status(value.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: Int(value.len)), as: UTF8.self) } ?? "")
        case REDIS_REPLY_ERROR:
            return .error(value.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: Int(value.len)), as: UTF8.self) } ?? "")
        case REDIS_REPLY_INTEGER:
            return .integer(value.integer)
        case REDIS_REPLY_ARRAY:
            return .array((0..<Int(value.elements)).compactMap { index in value.element[index].map(copy) })
        default:
            return .null
        }
    }

    /// What a failed connect or command says about Redis, from hiredis's error and the call's `errno`.
    private static func cause(_ context: UnsafeMutablePointer<redisContext>, errno: Int32) -> RedisError.Cause {
        switch context.pointee.err {
        case REDIS_ERR_EOF:
            return .closedByServer
        case REDIS_ERR_IO where errno == ECONNRESET || errno == EPIPE:
            return .closedByServer
        case REDIS_ERR_IO where errno == EAGAIN || errno == ETIMEDOUT || errno == EINPROGRESS:
            return .timedOut
        default:
            return .other
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
