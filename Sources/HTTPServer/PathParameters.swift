/// The parameters a route captured from the path, in pattern order (`series_id` for `/fit/:series_id`).
/// Routes have one or two, so a list beats a dictionary: no hashing, and with short names and values
/// (Swift keeps strings of up to 15 bytes inline) no allocation at all for the common single parameter.
public struct PathParameters: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    private var first: (name: String, value: String)?
    private var rest: [(name: String, value: String)] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { append(name: name, value: value) }
    }

    public var isEmpty: Bool { first == nil }

    public var count: Int { first == nil ? 0 : 1 + rest.count }

    /// The value captured for `name`, if the route has such a parameter.
    public subscript(name: String) -> String? {
        if let first, first.name == name { return first.value }
        return rest.first(where: { $0.name == name })?.value
    }

    /// Every parameter by name.
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        if let first { result[first.name] = first.value }
        for item in rest { result[item.name] = item.value }
        return result
    }

    mutating func append(name: String, value: String) {
        if first == nil {
            first = (name, value)
        } else {
            rest.append((name, value))
        }
    }

    public static func == (lhs: PathParameters, rhs: PathParameters) -> Bool {
        lhs.dictionary == rhs.dictionary
    }
}
