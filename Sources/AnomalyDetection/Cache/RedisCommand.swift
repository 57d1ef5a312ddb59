import CHiredis
import Glibc

/// A Redis command in RESP form, encoded by hiredis so that what we send is what Redis expects.
public struct RedisCommand: Sendable, Equatable {
    /// The encoded bytes, ready to write to a Redis connection.
    public let encoded: [UInt8]

    /// Encodes `arguments` (command name first), binary-safe.
    public init(_ arguments: [String]) {
        let buffers = arguments.map { Array($0.utf8) }
        var target: UnsafeMutablePointer<CChar>?
        let length = buffers.withPointers { pointers, lengths in
            redisFormatCommandArgv(&target, Int32(buffers.count), pointers, lengths)
        }
        if length > 0, let target {
            encoded = Array(UnsafeRawBufferPointer(start: target, count: Int(length)))
        } else {
            encoded = []
        }
        redisFreeCommand(target)
    }

    /// hiredis's version, e.g. "0.14.1".
    public static var libraryVersion: String { "\(HIREDIS_MAJOR).\(HIREDIS_MINOR).\(HIREDIS_PATCH)" }
}

extension Array where Element == [UInt8] {
    /// Calls `body` with C views of the buffers: `const char **` and their lengths.
    func withPointers<Result>(_ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result) -> Result {
        let copies = map { buffer -> UnsafeMutablePointer<CChar> in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: Swift.max(1, buffer.count))
            buffer.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { memcpy(copy, base, buffer.count) }
            }
            return copy
        }
        defer { copies.forEach { $0.deallocate() } }
        var pointers = copies.map { UnsafePointer<CChar>?(UnsafePointer($0)) }
        let lengths = map(\.count)
        return pointers.withUnsafeMutableBufferPointer { pointerBuffer in
            lengths.withUnsafeBufferPointer { body(pointerBuffer.baseAddress!, $0.baseAddress!) }
        }
    }
}
