import AnomalyDetection
import Foundation
import HTTPServer
import ServiceSupport

/// The monitoring service's own routes: the dashboard pages, `/plot`, and the JSON behind them.
public enum MonitoringRoutes {
    /// No request leaves the host: nothing but inline styles and same-origin links and forms.
    static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

    public static func add(to router: inout Router, backend: AnomalyBackend, store: DashboardStore, probe: StatusProbe) {
        let pages = Pages(backend: backend, store: store, probe: probe)
        router.get("/dashboard") { try pages.dashboard($0) }
        router.get("/dashboard/series/:series_id") { try pages.series($0) }
        router.get("/plot") { try pages.plot($0, seriesID: $0.query["series_id"]) }
        router.get("/plot/:series_id") { try pages.plot($0, seriesID: $0.pathParameters["series_id"] ?? "") }
        router.get("/api/overview") { _ in try pages.overviewJSON() }
        router.get("/api/series") { try .json(pages.seriesPage($0)) }
        router.get("/api/series/:series_id") { try pages.seriesJSON($0) }
    }

    static func html(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: [
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": contentSecurityPolicy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        ], body: Array(text.utf8))
    }
}

/// The handlers, apart from the routing.
struct Pages: Sendable {
    let backend: AnomalyBackend
    let store: DashboardStore
    let probe: StatusProbe

    func dashboard(_ request: HTTPRequest) throws -> HTTPResponse {
        let query = try seriesQuery(request, pageSizeAllowed: false)
        let overview = try? store.overview()
        let page = overview == nil ? nil : try? store.seriesPage(query)
        let (inference, training) = latency()
        let view = DashboardView(status: probe.snapshot, overview: overview, series: page, inferenceLatency: inference, trainingLatency: training, now: Int64(Date().timeIntervalSince1970))
        return MonitoringRoutes.html(view.render())
    }

    func series(_ request: HTTPRequest) throws -> HTTPResponse {
        let seriesID = try request.seriesID().rawValue
        let version = try request.pinnedVersion()?.number
        let detail: SeriesDetail?
        let plot: PlotInput?
        do {
            detail = try store.seriesDetail(seriesID)
            plot = detail == nil ? nil : try store.plotInput(seriesID, version: version)
        } catch {
            throw HTTPError.unavailable("Postgres", error)
        }
        guard let detail else {
            let body = "<header><p><a href=\"/dashboard\">← dashboard</a></p><h1>Unknown series</h1></header><p>No model has been trained for series '\(HTML.escape(seriesID))'.</p>"
            return MonitoringRoutes.html(PageLayout.page(title: "Unknown series — anomaly detection", refresh: false, body: body), status: .notFound)
        }
        if let version, plot == nil {
            let body = "<header><p><a href=\"/dashboard/series/\(HTML.urlComponent(seriesID))\">← series \(HTML.escape(seriesID))</a></p><h1>Unknown version</h1></header><p>Series '\(HTML.escape(seriesID))' has no version v\(version).</p>"
            return MonitoringRoutes.html(PageLayout.page(title: "Unknown version — anomaly detection", refresh: false, body: body), status: .notFound)
        }
        return MonitoringRoutes.html(SeriesView(detail: detail, plot: plot, status: probe.snapshot).render())
    }

    func plot(_ request: HTTPRequest, seriesID text: String?) throws -> HTTPResponse {
        let seriesID = try validSeriesID(text)
        let version = try request.pinnedVersion()?.number
        let input: PlotInput?
        do {
            input = try store.plotInput(seriesID, version: version)
        } catch {
            throw HTTPError.unavailable("Postgres", error)
        }
        guard let input else {
            if let version { throw HTTPError.notFound("series '\(seriesID)' has no model version v\(version)") }
            throw HTTPError.notFound("no model trained for series '\(seriesID)'")
        }
        return HTTPResponse(status: .ok, headers: [
            "Content-Type": "image/svg+xml",
            "Content-Security-Policy": MonitoringRoutes.contentSecurityPolicy,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        ], body: Array(PlotRenderer().render(input).utf8))
    }

    struct OverviewBody: Encodable {
        var status: StatusProbe.Snapshot
        var totals: Overview?
        var inference_latency_ms: LatencyStatistics.Summary
        var training_latency_ms: LatencyStatistics.Summary
    }

    func overviewJSON() throws -> HTTPResponse {
        let (inference, training) = latency()
        return try .json(OverviewBody(status: probe.snapshot, totals: try? store.overview(), inference_latency_ms: inference, training_latency_ms: training))
    }

    func seriesPage(_ request: HTTPRequest) throws -> SeriesPage {
        let query = try seriesQuery(request, pageSizeAllowed: true)
        do {
            return try store.seriesPage(query)
        } catch {
            throw HTTPError.unavailable("Postgres", error)
        }
    }

    func seriesJSON(_ request: HTTPRequest) throws -> HTTPResponse {
        let seriesID = try request.seriesID().rawValue
        let detail: SeriesDetail?
        do {
            detail = try store.seriesDetail(seriesID)
        } catch {
            throw HTTPError.unavailable("Postgres", error)
        }
        guard let detail else { throw HTTPError.notFound("no model trained for series '\(seriesID)'") }
        return try .json(detail)
    }

    private func latency() -> (LatencyStatistics.Summary, LatencyStatistics.Summary) {
        if let shared = try? (backend.latency.systemWideSummary(.inference, redis: backend.redis), backend.latency.systemWideSummary(.training, redis: backend.redis)) {
            return shared
        }
        return (backend.latency.localSummary(.inference), backend.latency.localSummary(.training))
    }

    /// `/plot?series_id=`: the id from the query (the path form uses `request.seriesID()`).
    private func validSeriesID(_ text: String?) throws -> String {
        guard let text else {
            throw HTTPError(.unprocessableContent, code: "validation_error", message: "series_id is required", field: "series_id")
        }
        do {
            return try SeriesID(text).rawValue
        } catch let error as ValidationError {
            throw HTTPError(validation: error)
        }
    }

    private func seriesQuery(_ request: HTTPRequest, pageSizeAllowed: Bool) throws -> SeriesQuery {
        let query = request.query
        var result = SeriesQuery()
        let search = query["q"] ?? ""
        // Postgres refuses NUL in a text parameter, and no series id holds a control character.
        guard !search.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw HTTPError(.unprocessableContent, code: "validation_error", message: "q must not contain control characters", field: "q")
        }
        result.search = String(search.prefix(128))
        if let sort = query["sort"] {
            guard let value = SeriesQuery.Sort(rawValue: sort) else {
                throw HTTPError(.unprocessableContent, code: "validation_error", message: "sort must be one of \(SeriesQuery.Sort.allCases.map(\.rawValue).joined(separator: ", "))", field: "sort")
            }
            result.sort = value
        }
        if let order = query["order"] {
            guard order == "asc" || order == "desc" else {
                throw HTTPError(.unprocessableContent, code: "validation_error", message: "order must be asc or desc", field: "order")
            }
            result.descending = order == "desc"
        }
        result.page = try integer(query["page"], name: "page", default: 1, in: 1...1_000_000)
        if pageSizeAllowed {
            result.pageSize = try integer(query["page_size"], name: "page_size", default: 50, in: 1...500)
        }
        return result
    }

    private func integer(_ text: String?, name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw HTTPError(.unprocessableContent, code: "validation_error", message: "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return value
    }
}
