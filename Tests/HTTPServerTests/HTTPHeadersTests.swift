import Testing
@testable import HTTPServer

@Suite("Header names")
struct HTTPHeadersTests {
    @Test("Names compare ASCII case-insensitively, as Strings, Substrings and short or long ones", arguments: [
        ("Content-Type", "content-type", true), ("CONTENT-LENGTH", "content-length", true),
        ("X-A-Header-Name-Longer-Than-Fifteen", "x-a-header-name-longer-than-fifteen", true),
        ("Content-Type", "Content-Typf", false), ("Host", "Hos", false), ("", "", true),
        ("Ärger", "ärger", false),  // only ASCII letters fold
        ("[", "{", false),  // 0x5B and 0x7B differ by 0x20 but are not letters
    ])
    func namesEqual(lhs: String, rhs: String, equal: Bool) {
        #expect(HTTPHeaders.namesEqual(lhs, rhs) == equal)
        #expect(HTTPHeaders.namesEqual(Substring(lhs), rhs) == equal)
        #expect(HTTPHeaders.namesEqual(("  " + lhs).dropFirst(2), ("x" + rhs).dropFirst()) == equal)
    }

    @Test func lookupIgnoresCaseAndKeepsTheFirst() {
        let headers: HTTPHeaders = ["content-type": "application/json", "Content-Type": "text/plain", "Connection": "Keep-Alive, Upgrade"]
        #expect(headers["CONTENT-TYPE"] == "application/json")
        #expect(headers.values(for: "content-type") == ["application/json", "text/plain"])
        #expect(headers.contains(name: "connection", token: "upgrade"))
        #expect(!headers.contains(name: "connection", token: "close"))
    }
}
