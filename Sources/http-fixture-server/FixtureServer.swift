import AnomalyDetection
import ArgumentParser
import Foundation
import HTTPServer
import ServiceSupport
import Synchronization

/// A server with routes that exist only to exercise the HTTP module from the socket tests.
@main
struct FixtureServer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "http-fixture-server", abstract: "HTTP test fixture.")

    @OptionGroup var options: ServiceOptions

    struct Echo: Codable {
        var method: String
        var path: String
        var query: [String: [String]]
        var headers: [[String]]
        var body: String
        var bodyLength: Int
        var parameters: [String: String]
    }

    struct Missing: Codable { var count: Int }

    /// When the router's `afterReads` hooks last ran (`CLOCK_MONOTONIC` ns, as `receivedAt`), for `/read-hook`.
    final class HookClock: Sendable {
        let lastRun = Atomic<UInt64>(0)
    }

    struct ReadHookAnswer: Codable {
        var received_at: UInt64
        var hook_ran_at: UInt64
    }

    func run() throws {
        try ServiceRunner(service: "fixture", defaultPort: 8099).runWithoutBackend(options: options) { router, _, _ in
            let echo: Router.Handler = { request in
                var query: [String: [String]] = [:]
                for item in request.query.items { query[item.name, default: []].append(item.value) }
                return try .json(Echo(
                    method: request.method.rawValue, path: String(request.path), query: query,
                    headers: request.headers.map { [$0.name, $0.value] },
                    body: String(decoding: request.body, as: UTF8.self), bodyLength: request.body.count,
                    parameters: request.pathParameters.dictionary
                ))
            }
            router.post("/echo", execution: .inline, handler: echo)
            router.get("/echo", execution: .inline, handler: echo)
            router.get("/items/:id", execution: .inline, handler: echo)
            router.post("/items/:id", execution: .blocking, handler: echo)
            // The same fixed answer inline and through the blocking pool: the difference is the cost of the thread hop.
            let alive = Array(#"{"status":"ok"}"#.utf8)
            router.get("/inline", execution: .inline) { _ in .rawJSON(alive) }
            router.get("/hop", execution: .blocking) { _ in .rawJSON(alive) }
            router.get("/slow", execution: .blocking) { request in
                let milliseconds = Int(request.query["ms"] ?? "") ?? 2000
                Thread.sleep(forTimeInterval: Double(milliseconds) / 1000)
                return .text("slept \(milliseconds) ms\n")
            }
            router.get("/bytes", execution: .inline) { request in
                let count = min(Int(request.query["n"] ?? "") ?? 0, 64 << 20)
                return HTTPResponse(headers: ["Content-Type": "application/octet-stream"], body: [UInt8](repeating: UInt8(ascii: "x"), count: count))
            }
            router.post("/json", execution: .inline) { request in
                let decoded = try request.decodeJSON(Missing.self)
                return try .json(decoded)
            }
            // What the loop promises `afterReads` hooks: they run after a request is received, before it is handled.
            let hook = HookClock()
            router.afterEachRoundOfReads { hook.lastRun.store(MonotonicClock.nanoseconds, ordering: .relaxed) }
            router.get("/read-hook", execution: .inline) { request in
                try .json(ReadHookAnswer(received_at: request.receivedAt, hook_ran_at: hook.lastRun.load(ordering: .relaxed)))
            }
            router.get("/crash", execution: .blocking) { _ in
                throw CocoaError(.featureUnsupported)
            }
        }
    }
}
