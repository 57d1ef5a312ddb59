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
}

extension PostgresResult {
    /// Each row with access by column name.
    public var namedRows: [PostgresRow] {
        rows.map { PostgresRow(columns: columns, values: $0) }
    }
}
