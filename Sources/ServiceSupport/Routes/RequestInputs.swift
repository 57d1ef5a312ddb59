import AnomalyDetection
import HTTPServer

/// Reading the path and query of a request into validated values; every failure is a 422 naming the field.
extension HTTPRequest {
    /// The `series_id` path parameter, validated.
    public func seriesID() throws -> SeriesID {
        do {
            return try SeriesID(pathParameters["series_id"] ?? "")
        } catch let error as ValidationError {
            throw HTTPError(validation: error)
        }
    }

    /// `?version=v3` or `?version=3`, or nil for the latest.
    public func pinnedVersion() throws -> ModelVersion? {
        guard let text = query["version"] else { return nil }
        do {
            return try ModelVersion(parsing: Substring(text))
        } catch let error as ValidationError {
            throw HTTPError(validation: error)
        }
    }

    /// A non-negative integer query parameter within `range`, or `defaultValue` when absent.
    func integerQuery(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = query[name] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw HTTPError(.unprocessableContent, code: "validation_error", message: "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text.prefix(64))'", field: name)
        }
        return value
    }
}

extension HTTPError {
    /// 422 with the field the rule is about.
    public init(validation error: ValidationError) {
        self.init(.unprocessableContent, code: "validation_error", message: error.message, field: error.field)
    }

    /// 503 with `Retry-After`, for a dependency that is down.
    public static func unavailable(_ what: String, _ error: any Error) -> HTTPError {
        HTTPError(.serviceUnavailable, code: "dependency_unavailable", message: "\(what) is unavailable; retry shortly (\(error))", headers: ["Retry-After": "1"])
    }
}
