import Foundation

/// Reads a `.env` file: `NAME=value` lines, `#` comments, optional `export ` and quotes.
/// Variables already set in the process environment win over the file.
public enum DotEnvFile {
    /// Parses the text of a `.env` file.
    public static func parse(_ text: String) -> [String: String] {
        var variables: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            guard !name.isEmpty else { continue }
            variables[name] = value
        }
        return variables
    }

    /// The process environment over the `.env` file at `path`, when there is one.
    public static func merged(processEnvironment: [String: String], path: String = ".env") -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return processEnvironment }
        return parse(text).merging(processEnvironment) { _, process in process }
    }
}
