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
    ///   or does not have the expected shape.
    public func decodeJSON<Value: Decodable>(_ type: Value.Type, decoder: JSONDecoder = JSONCoding.decoder) throws -> Value {
        if let contentType = headers["content-type"] {
            let mediaType = contentType.split(separator: ";", maxSplits: 1)[0]
            guard HTTPHeaders.namesEqual(trimmed(mediaType), "application/json") || trimmed(mediaType).lowercased().hasSuffix("+json") else {
                throw HTTPError(.unsupportedMediaType, code: "unsupported_media_type", message: "Content-Type must be application/json, got '\(contentType)'")
            }
        }
        do {
            return try decoder.decode(type, from: Data(body))
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, code: "malformed_json", message: Self.describe(error))
        } catch {
            throw HTTPError(.badRequest, code: "malformed_json", message: "request body is not valid JSON")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "request body is not valid JSON"
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): missing field"
        @unknown default:
            return "request body does not have the expected shape"
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.reduce(into: "") { text, key in
            if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
    }
}

/// The shared JSON coders: one configuration for every service.
public enum JSONCoding {
    /// Sorted keys keep bodies stable for tests and diffs; slashes are not escaped.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static var decoder: JSONDecoder { JSONDecoder() }
}
