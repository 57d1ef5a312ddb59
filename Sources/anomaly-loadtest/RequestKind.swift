/// The two requests the tool sends.
enum RequestKind: Int, Sendable, CaseIterable {
    /// `POST /predict/{series}` on the inference service.
    case predict = 0
    /// `POST /fit/{series}` on the training service.
    case fit = 1
}
