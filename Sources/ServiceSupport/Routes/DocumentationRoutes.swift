import Foundation
import HTTPServer

/// `GET /openapi.yaml` (the spec in `api_docs/`) and `GET /docs` (its readable page), read once at start-up.
public enum DocumentationRoutes {
    /// Adds both routes; when the files cannot be found they answer 404 saying where they were looked for.
    public static func add(to router: inout Router, environment: ServiceEnvironment) {
        let directory = locate(configured: environment["API_DOCS_DIR"])
        let spec = directory.flatMap { try? Data(contentsOf: $0.appendingPathComponent("openapi.yaml")) }
        let page = directory.flatMap { try? Data(contentsOf: $0.appendingPathComponent("index.html")) }
        let missing = HTTPError.notFound("api_docs/ not found; set API_DOCS_DIR to the folder holding openapi.yaml and index.html")
        router.get("/openapi.yaml", execution: .inline) { _ in
            guard let spec else { throw missing }
            return HTTPResponse(status: .ok, headers: ["Content-Type": "application/yaml; charset=utf-8"], body: Array(spec))
        }
        router.get("/docs", execution: .inline) { _ in
            guard let page else { throw missing }
            return HTTPResponse(status: .ok, headers: [
                "Content-Type": "text/html; charset=utf-8",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:",
            ], body: Array(page))
        }
    }

    /// `API_DOCS_DIR`, else `api_docs` in the working directory, else one next to or above the executable
    /// (`.build/<triple>/release/` sits three levels below the checkout).
    static func locate(configured: String?) -> URL? {
        var candidates: [URL] = []
        if let configured { candidates.append(URL(fileURLWithPath: configured)) }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("api_docs"))
        var directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent("api_docs"))
            directory.deleteLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("openapi.yaml").path) }
    }
}
