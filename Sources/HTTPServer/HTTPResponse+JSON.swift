import Foundation

extension HTTPResponse {
    /// Encodes `value` as the JSON body.
    /// - Throws: whatever `JSONEncoder` throws for a value it cannot encode.
    public static func json<Value: Encodable>(_ value: Value, status: HTTPStatus = .ok, encoder: JSONEncoder = JSONCoding.encoder) throws -> HTTPResponse {
        .rawJSON(Array(try encoder.encode(value)), status: status)
    }

    /// The one error shape of every service: `{"error": code, "message": text, "field": name?}`.
    public static func error(_ error: HTTPError) -> HTTPResponse {
        let body = (try? JSONCoding.encoder.encode(error.body)).map(Array.init) ?? Array(#"{"error":"internal_error","message":"error body not encodable"}"#.utf8)
        var response = HTTPResponse.rawJSON(body, status: error.status)
        for field in error.headers { response.headers.add(name: field.name, value: field.value) }
        return response
    }
}

extension HTTPRequest {
    /// Decodes the JSON body.
    /// - Throws: `HTTPError` 415 when the content type is not JSON, 400 when the body is not valid JSON
    ///   (or not the expected kind of document), 422 naming the field when a field is missing or has the
    ///   wrong type or value.
    public func decodeJSON<Value: Decodable>(_ type: Value.Type, decoder: JSONDecoder = JSONCoding.decoder) throws -> Value {
        // The usual spelling compares as one run of bytes; parameters, case and `+json` take the longer way.
        if let contentType = headers["content-type"], contentType != "application/json" {
            let mediaType = trimmed(contentType[..<(contentType.utf8.firstIndex(of: UInt8(ascii: ";")) ?? contentType.endIndex)])
            guard HTTPHeaders.namesEqual(mediaType, "application/json") || mediaType.lowercased().hasSuffix("+json") else {
                throw HTTPError(.unsupportedMediaType, code: "unsupported_media_type", message: "Content-Type must be application/json, got '\(contentType)'")
            }
        }
        do {
            return try body.withUnsafeBytes { bytes in
                // The decoder reads the body in place: `Data(body)` would copy it into two fresh allocations.
                // The `Data` never outlives this call, and `.none` leaves the array's storage to the array.
                guard let start = bytes.baseAddress, !bytes.isEmpty else { return try decoder.decode(type, from: Data()) }
                return try decoder.decode(type, from: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: start), count: bytes.count, deallocator: .none))
            }
        } catch let error as DecodingError {
            throw Self.httpError(for: error)
        } catch {
            throw HTTPError(.badRequest, code: "malformed_json", message: "request body is not valid JSON")
        }
    }

    /// Maps a decoding failure to the client's mistake: the document (400) or one field (422).
    static func httpError(for error: DecodingError) -> HTTPError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return HTTPError(.badRequest, code: "malformed_json", message: "request body is not valid JSON: \(context.debugDescription)")
        case .typeMismatch(_, let context) where context.codingPath.isEmpty, .valueNotFound(_, let context) where context.codingPath.isEmpty:
            return HTTPError(.badRequest, code: "malformed_json", message: "request body must be a JSON object")
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            let field = path(context.codingPath)
            return HTTPError(.unprocessableContent, code: "validation_error", message: "\(field): \(fieldProblem(error, context))", field: field)
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return HTTPError(.unprocessableContent, code: "validation_error", message: "\(field) is required", field: field)
        @unknown default:
            return HTTPError(.badRequest, code: "malformed_json", message: "request body does not have the expected shape")
        }
    }

    private static func fieldProblem(_ error: DecodingError, _ context: DecodingError.Context) -> String {
        switch error {
        case .typeMismatch(let type, _): return "expected \(describe(type))"
        case .valueNotFound(let type, _): return "expected \(describe(type)), got null"
        default: return context.debugDescription
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type: return "an integer"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a \(name)"
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.reduce(into: "") { text, key in
            if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
    }
}

/// The shared JSON coders: one configuration for every service. Made once: building a coder costs more
/// than using it, and both are safe to share between threads.
public enum JSONCoding {
    /// Sorted keys keep bodies stable for tests and diffs; slashes are not escaped.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder = JSONDecoder()
}
