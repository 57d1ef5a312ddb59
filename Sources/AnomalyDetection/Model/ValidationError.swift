/// Client input that breaks a rule of the contract; answered with 422 naming the field.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offending field, e.g. `values[2]`.
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
