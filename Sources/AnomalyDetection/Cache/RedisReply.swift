/// A Redis reply, copied out of hiredis's `redisReply` before it is freed.
public enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    case error(String)

    /// The bulk or status string as text.
    public var text: String? {
        switch self {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    public var elements: [RedisReply] {
        if case .array(let elements) = self { return elements }
        return []
    }
}
