/// Rows copied out of a `PGresult` (which is cleared at once), as text in Postgres's output format.
public struct PostgresResult: Sendable {
    public let columns: [String]
    public let rows: [[String?]]
    /// Rows changed, for INSERT/UPDATE/DELETE.
    public let affectedRows: Int

    public init(columns: [String], rows: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }
}

/// Typed access to one row.
public struct PostgresRow {
    let columns: [String]
    let values: [String?]

    public init(columns: [String], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ column: String) -> String? {
        columns.firstIndex(of: column).flatMap { values[$0] }
    }

    public func string(_ column: String) throws -> String {
        guard let value = self[column] else { throw PostgresError(kind: .statement, message: "column \(column) is missing or null") }
        return value
    }

    public func int(_ column: String) throws -> Int {
        guard let value = Int(try string(column)) else { throw PostgresError(kind: .statement, message: "column \(column) is not an integer") }
        return value
    }

    public func double(_ column: String) throws -> Double {
        let text = try string(column)
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(text) else { throw PostgresError(kind: .statement, message: "column \(column) is not a number") }
            return value
        }
    }

    public func bool(_ column: String) throws -> Bool {
        try string(column) == "t"
    }

    /// A `bytea` column, from its text form (`\x` and two hex digits a byte).
    public func bytes(_ column: String) throws -> [UInt8] {
        let text = Array(try string(column).utf8)
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else {
            throw PostgresError(kind: .statement, message: "column \(column) is not bytea in hex form")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2 - 1)
        for index in stride(from: 2, to: text.count, by: 2) {
            guard let high = Self.hexDigit(text[index]), let low = Self.hexDigit(text[index + 1]) else {
                throw PostgresError(kind: .statement, message: "column \(column) is not bytea in hex form")
            }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexDigit(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension PostgresResult {
    /// Each row with access by column name.
    public var namedRows: [PostgresRow] {
        rows.map { PostgresRow(columns: columns, values: $0) }
    }
}
