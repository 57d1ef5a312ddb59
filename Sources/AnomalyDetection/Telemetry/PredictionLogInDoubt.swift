/// The log has not settled a write whose commit got no answer: it is still open on the server.
struct PredictionLogInDoubt: Error, CustomStringConvertible {
    let write: PredictionLogWriteID

    var description: String { "write \(write) of the prediction log is still open on the server; asking again later" }
}
