/// A failure that ends the run with a message for the user (bad input, unreachable trainer, ...).
struct LoadTestError: Error, CustomStringConvertible, Sendable {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
