/// What the run drives.
enum LoadMode: String, Sendable, CaseIterable {
    /// `POST /predict` on the inference service, optionally mixed with fits (`--fit-ratio`).
    case predict
    /// Only `POST /fit` on the training service.
    case fit
}
