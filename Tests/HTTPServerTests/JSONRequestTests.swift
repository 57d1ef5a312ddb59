import Testing
@testable import HTTPServer

@Suite("JSON request decoding")
struct JSONRequestTests {
    struct Point: Codable, Equatable {
        var timestamp: Int
        var value: Double
    }

    private func request(_ body: String, contentType: String? = "application/json") -> HTTPRequest {
        var headers = HTTPHeaders()
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        return HTTPRequest(method: .post, target: "/", headers: headers, body: Array(body.utf8))
    }

    @Test func decodesJSONBodies() throws {
        #expect(try request(#"{"timestamp": 1, "value": 2.5}"#).decodeJSON(Point.self) == Point(timestamp: 1, value: 2.5))
        #expect(try request(#"{"timestamp": 1, "value": 2.5}"#, contentType: "application/json; charset=utf-8").decodeJSON(Point.self).value == 2.5)
        #expect(try request(#"{"timestamp": 1, "value": 2.5}"#, contentType: nil).decodeJSON(Point.self).timestamp == 1)
    }

    @Test func wrongContentTypeIs415() {
        #expect(throws: HTTPError.self) { try request("{}", contentType: "text/plain").decodeJSON(Point.self) }
        do {
            _ = try request("{}", contentType: "text/plain").decodeJSON(Point.self)
        } catch let error as HTTPError {
            #expect(error.status == .unsupportedMediaType)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func malformedDocumentsAre400() {
        for body in ["{", "", "[1, 2]", "null", #"{"timestamp": NaN, "value": 1}"#] {
            do {
                _ = try request(body).decodeJSON(Point.self)
                Issue.record("\(body) decoded")
            } catch let error as HTTPError {
                #expect(error.status == .badRequest, "\(body): \(error)")
                #expect(error.body.error == "malformed_json")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func badFieldsAre422AndNameTheField() {
        let cases = [
            (#"{"timestamp": "x", "value": 1}"#, "timestamp"),
            (#"{"timestamp": 1}"#, "value"),
            (#"{"timestamp": 1, "value": null}"#, "value"),
            (#"{"timestamp": true, "value": 1}"#, "timestamp"),
            (#"{"timestamp": 1, "value": [1]}"#, "value"),
        ]
        for (body, field) in cases {
            do {
                _ = try request(body).decodeJSON(Point.self)
                Issue.record("\(body) decoded")
            } catch let error as HTTPError {
                #expect(error.status == .unprocessableContent, "\(body): \(error)")
                #expect(error.body.field == field, "\(body): \(error)")
                #expect(error.body.message.hasPrefix(field))
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func arrayElementsAreNamedByIndex() {
        struct Series: Codable { var values: [Double] }
        do {
            _ = try request(#"{"values": [1, 2, "a"]}"#).decodeJSON(Series.self)
            Issue.record("decoded")
        } catch let error as HTTPError {
            #expect(error.status == .unprocessableContent)
            #expect(error.body.field == "values[2]")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
