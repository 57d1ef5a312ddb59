/// A configuration value that cannot be used; the message names the variable.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let variable: String
    public let value: String
    public let expected: String

    public init(variable: String, value: String, expected: String) {
        self.variable = variable
        self.value = value
        self.expected = expected
    }

    public var description: String {
        "invalid \(variable)='\(value)': expected \(expected)"
    }
}
