import AnomalyDetection
import Foundation

/// The `/dashboard` page, from already-read data. Pure: no I/O.
public struct DashboardView: Sendable {
    public var status: StatusProbe.Snapshot
    /// Nil when Postgres could not be read; the page then says so instead of showing numbers.
    public var overview: Overview?
    public var series: SeriesPage?
    public var inferenceLatency: LatencyStatistics.Summary
    public var trainingLatency: LatencyStatistics.Summary
    public var now: Int64

    public init(status: StatusProbe.Snapshot, overview: Overview?, series: SeriesPage?, inferenceLatency: LatencyStatistics.Summary, trainingLatency: LatencyStatistics.Summary, now: Int64) {
        self.status = status
        self.overview = overview
        self.series = series
        self.inferenceLatency = inferenceLatency
        self.trainingLatency = trainingLatency
        self.now = now
    }

    public func render() -> String {
        var body = "<header><h1>Anomaly detection</h1><p>3-sigma models per series · training :8000 · inference :8001 · monitoring :8002</p></header>\n"
        body += statusSection()
        body += totalsSection()
        body += latencySection()
        body += seriesSection()
        return PageLayout.page(title: "Anomaly detection — dashboard", body: body)
    }

    static func statusList(_ status: StatusProbe.Snapshot) -> String {
        var html = "<ul class=\"status\">"
        for name in StatusProbe.componentOrder {
            let component = status.components[name] ?? StatusProbe.ComponentHealth(state: "unknown")
            let detail = component.rtt_ms.map { PageLayout.milliseconds($0) } ?? (component.error ?? "")
            html += "<li class=\"\(HTML.escape(component.state))\" data-component=\"\(name)\" title=\"\(HTML.escape(component.error ?? ""))\"><b>\(name)</b> <span class=\"state\">\(HTML.escape(component.state))</span><br><span class=\"muted\">\(HTML.escape(detail.prefix(80)))</span></li>"
        }
        return html + "</ul>"
    }

    private func statusSection() -> String {
        "<section id=\"status\"><h2>System status</h2>\(Self.statusList(status))</section>\n"
    }

    private func totalsSection() -> String {
        guard let overview else {
            return "<section id=\"totals\"><h2>Totals</h2><p class=\"muted\">Postgres is unavailable: totals and series cannot be read right now.</p></section>\n"
        }
        func card(_ label: String, _ value: String, id: String, alert: Bool = false) -> String {
            "<div class=\"card\(alert ? " alert" : "")\" id=\"\(id)\"><div class=\"value\">\(HTML.escape(value))</div><div class=\"label\">\(HTML.escape(label))</div></div>"
        }
        var html = "<section id=\"totals\"><h2>Totals</h2><div class=\"cards\">"
        html += card("series trained", PageLayout.count(overview.series_trained), id: "series-trained")
        html += card("model versions", PageLayout.count(overview.model_versions), id: "model-versions")
        html += card("predictions", PageLayout.count(overview.predictions), id: "predictions")
        html += card("predictions, last 60 s", PageLayout.count(overview.predictions_last_minute), id: "predictions-minute")
        html += card("anomalies", PageLayout.count(overview.anomalies), id: "anomalies", alert: overview.anomalies > 0)
        html += card("anomalies, last 60 s", PageLayout.count(overview.anomalies_last_minute), id: "anomalies-minute")
        html += card("anomaly rate", PageLayout.percent(overview.anomaly_rate), id: "anomaly-rate")
        if let dropped = status.dropped_prediction_records {
            html += card("prediction records dropped", PageLayout.count(dropped), id: "dropped", alert: dropped > 0)
        }
        return html + "</div></section>\n"
    }

    private func latencySection() -> String {
        var html = "<section id=\"latency\"><h2>Latency and load</h2><table><tr><th>service</th><th>requests</th><th>avg</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>"
        for (name, summary) in [("inference (predict)", inferenceLatency), ("training (fit)", trainingLatency)] {
            html += "<tr><td>\(name)</td><td>\(PageLayout.count(summary.count))</td><td>\(PageLayout.milliseconds(summary.avg))</td><td>\(PageLayout.milliseconds(summary.p50))</td><td>\(PageLayout.milliseconds(summary.p95))</td><td>\(PageLayout.milliseconds(summary.p99))</td><td>\(PageLayout.milliseconds(summary.max))</td></tr>"
        }
        html += "</table><p class=\"muted\">Server-side handling time since each running service started, all instances merged. Charts: the last hour, per minute.</p><div class=\"charts\">"
        let minutes = overview?.minutes ?? []
        let predicts = minutes.filter { $0.kind == "predict" }
        let fits = minutes.filter { $0.kind == "fit" }
        html += MinuteChart.render(title: "Predictions per second", unit: "req/s", points: predicts.map { .init(minute: $0.minute, value: $0.requests_per_second) }, now: now)
        html += MinuteChart.render(title: "Predict p95", unit: "ms", points: predicts.map { .init(minute: $0.minute, value: $0.p95_ms) }, now: now, color: "#7c3aed")
        html += MinuteChart.render(title: "Fits per second", unit: "req/s", points: fits.map { .init(minute: $0.minute, value: $0.requests_per_second) }, now: now, color: "#0891b2")
        html += MinuteChart.render(title: "Fit p95", unit: "ms", points: fits.map { .init(minute: $0.minute, value: $0.p95_ms) }, now: now, color: "#db2777")
        return html + "</div></section>\n"
    }

    private func seriesSection() -> String {
        guard let series else { return "" }
        var html = "<section id=\"series\"><h2>Series (\(PageLayout.count(series.total)))</h2>"
        html += "<form class=\"search\" method=\"get\" action=\"/dashboard\"><input type=\"search\" name=\"q\" value=\"\(HTML.escape(series.search))\" placeholder=\"search series id\" aria-label=\"search series id\">"
        html += "<input type=\"hidden\" name=\"sort\" value=\"\(series.sort)\"><input type=\"hidden\" name=\"order\" value=\"\(series.order)\"><button type=\"submit\">Search</button></form>"
        let columns: [(String, SeriesQuery.Sort?, Bool)] = [
            ("series", .series_id, true), ("version", .latest_version, false), ("points", .points, false), ("mean", nil, false), ("std", nil, false),
            ("threshold", nil, false), ("direction", nil, true), ("trained at", .trained_at, true), ("predictions", .predictions, false),
            ("anomalies", .anomalies, false), ("last anomaly", .last_anomaly_at, true),
        ]
        html += "<table id=\"series-table\"><tr>"
        for (label, sort, text) in columns {
            let cls = text ? " class=\"text\"" : ""
            if let sort {
                let descending = series.sort == sort.rawValue && series.order == "asc"
                let arrow = series.sort == sort.rawValue ? (series.order == "asc" ? " ▲" : " ▼") : ""
                html += "<th\(cls)><a href=\"\(link(sort: sort.rawValue, order: descending ? "desc" : "asc", page: 1))\">\(label)\(arrow)</a></th>"
            } else {
                html += "<th\(cls)>\(label)</th>"
            }
        }
        html += "</tr>"
        for row in series.series {
            let id = HTML.escape(row.series_id)
            html += "<tr\(row.anomalies > 0 ? " data-anomalies=\"\(row.anomalies)\"" : "")><td class=\"text\"><a href=\"/dashboard/series/\(HTML.urlComponent(row.series_id))\">\(id)</a></td>"
            html += "<td>v\(row.latest_version)</td><td>\(PageLayout.count(row.points))</td><td>\(AxisTicks.format(row.mean))</td><td>\(AxisTicks.format(row.std))</td>"
            html += "<td>\(AxisTicks.format(row.threshold))</td><td class=\"text\">\(HTML.escape(row.direction))</td><td class=\"text\">\(HTML.escape(row.trained_at))</td>"
            html += "<td>\(PageLayout.count(row.predictions))</td><td>\(PageLayout.count(row.anomalies))</td><td class=\"text\">\(HTML.escape(row.last_anomaly_at ?? "–"))</td></tr>"
        }
        if series.series.isEmpty {
            html += "<tr><td class=\"text\" colspan=\"11\">\(series.search.isEmpty ? "No series trained yet: POST /fit/{series_id} on the training service." : "No series matches '\(HTML.escape(series.search))'.")</td></tr>"
        }
        html += "</table>"
        let pages = max(1, (series.total + series.page_size - 1) / series.page_size)
        html += "<div class=\"pager\">"
        if series.page > 1 { html += "<a rel=\"prev\" href=\"\(link(sort: series.sort, order: series.order, page: series.page - 1))\">← previous</a>" }
        html += "<span>page \(series.page) of \(pages)</span>"
        if series.page < pages { html += "<a rel=\"next\" href=\"\(link(sort: series.sort, order: series.order, page: series.page + 1))\">next →</a>" }
        return html + "</div></section>\n"
    }

    private func link(sort: String, order: String, page: Int) -> String {
        var link = "/dashboard?sort=\(sort)&amp;order=\(order)&amp;page=\(page)"
        if let series, !series.search.isEmpty { link += "&amp;q=\(HTML.urlComponent(series.search))" }
        return link
    }
}
