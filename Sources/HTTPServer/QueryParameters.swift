/// The decoded `name=value` pairs of a query string, in order; repeated names are kept.
public struct QueryParameters: Sendable, Equatable {
    public private(set) var items: [(name: String, value: String)]

    /// Parses `a=1&b=two&flag`, percent-decoding names and values (`+` is a space).
    /// Pairs whose escapes are malformed are reported through `malformed` rather than dropped silently.
    public init(parsing query: Substring) {
        var items: [(name: String, value: String)] = []
        var malformed: [String] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let rawName = parts[0]
            let rawValue = parts.count > 1 ? parts[1] : ""
            guard let name = PercentDecoding.decode(rawName, plusAsSpace: true),
                  let value = PercentDecoding.decode(rawValue, plusAsSpace: true) else {
                malformed.append(String(pair))
                continue
            }
            items.append((name, value))
        }
        self.items = items
        self.malformed = malformed
    }

    /// Raw pairs that could not be decoded (bad `%` escape or invalid UTF-8).
    public let malformed: [String]

    /// The first value for `name`.
    public subscript(name: String) -> String? {
        items.first { $0.name == name }?.value
    }

    /// Every value for `name`, in order.
    public func values(for name: String) -> [String] {
        items.filter { $0.name == name }.map(\.value)
    }

    public static func == (lhs: QueryParameters, rhs: QueryParameters) -> Bool {
        lhs.items.elementsEqual(rhs.items) { $0.name == $1.name && $0.value == $1.value } && lhs.malformed == rhs.malformed
    }
}
