import Testing
@testable import anomaly_loadtest

@Suite("Service endpoint URLs")
struct ServiceEndpointTests {
    @Test func ipv4WithPort() throws {
        let endpoint = try ServiceEndpoint(parsing: "http://127.0.0.1:8001", option: "--x")
        #expect(endpoint == ServiceEndpoint(host: "127.0.0.1", port: 8001))
        #expect(endpoint.authority == "127.0.0.1:8001")
    }

    @Test func ipv6WithPrefixAndUppercaseScheme() throws {
        let endpoint = try ServiceEndpoint(parsing: "HTTP://[::1]:9000/api/", option: "--x")
        #expect(endpoint.host == "::1")
        #expect(endpoint.port == 9000)
        #expect(endpoint.basePath == "/api")
        #expect(endpoint.url("/fit/a") == "http://[::1]:9000/api/fit/a")
    }

    @Test func defaultPortIs80AndLeftOutOfTheAuthority() throws {
        let endpoint = try ServiceEndpoint(parsing: "http://example.com", option: "--x")
        #expect(endpoint.port == 80)
        #expect(endpoint.authority == "example.com")
    }

    @Test("invalid URLs are rejected naming the option", arguments: ["https://x", "http://", "http://x:0", "http://x:abc", "http://u@x", "http://x:1?q"])
    func rejects(_ url: String) throws {
        let error = try #require(throws: LoadTestError.self) { try ServiceEndpoint(parsing: url, option: "--x") }
        #expect(error.description.hasPrefix("--x: "))
        #expect(error.description.contains("'\(url)'"))
    }

    @Test func seriesIdIsPercentEncodedIntoThePath() {
        #expect(RequestCatalog.expand("/predict/{series}", series: "a b/é") == "/predict/a%20b%2F%C3%A9")
        #expect(RequestCatalog.expand("/fit/{series}", series: "cpu-1_x.y~z") == "/fit/cpu-1_x.y~z")
    }
}
