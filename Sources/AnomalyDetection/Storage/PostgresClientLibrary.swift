import CLibPQ

/// Facts about the linked libpq, and connection-string checks that need no server.
public enum PostgresClientLibrary {
    /// libpq's version as an integer, e.g. 150018 for 15.18.
    public static var version: Int { Int(PQlibVersion()) }

    /// Whether libpq was built thread-safe; the connection pool relies on it.
    public static var isThreadSafe: Bool { PQisthreadsafe() == 1 }

    /// Checks that `connectionString` (a `postgresql://` URL or `key=value` pairs) parses, without connecting.
    /// - Returns: the parsed options that have a value, by keyword (`host`, `port`, `dbname`, ...).
    /// - Throws: `PostgresConfigurationError` with libpq's own message.
    public static func parseConnectionString(_ connectionString: String) throws -> [String: String] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &errorMessage) else {
            defer { PQfreemem(errorMessage) }
            let message = errorMessage.map { String(cString: $0) } ?? "out of memory"
            throw PostgresConfigurationError(message: message.trimmingSuffix("\n"))
        }
        defer { PQconninfoFree(options) }
        var parsed: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                parsed[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        return parsed
    }
}

/// A connection string libpq refused.
public struct PostgresConfigurationError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var result = self
        while result.hasSuffix(suffix) { result.removeLast(suffix.count) }
        return result
    }
}
