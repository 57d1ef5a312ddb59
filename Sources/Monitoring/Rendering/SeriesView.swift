import Foundation

/// The `/dashboard/series/{series_id}` page: the plot of the chosen version, the version history and the
/// latest predictions. Pure: no I/O.
public struct SeriesView: Sendable {
    public var detail: SeriesDetail
    public var plot: PlotInput?
    public var status: StatusProbe.Snapshot

    public init(detail: SeriesDetail, plot: PlotInput?, status: StatusProbe.Snapshot) {
        self.detail = detail
        self.plot = plot
        self.status = status
    }

    public func render() -> String {
        let summary = detail.summary
        let id = HTML.escape(summary.series_id)
        let shown = plot?.version ?? summary.latest_version
        var body = "<header><p><a href=\"/dashboard\">← dashboard</a></p><h1>Series \(id)</h1>"
        body += "<p>latest v\(summary.latest_version) · \(PageLayout.count(summary.predictions)) predictions · \(PageLayout.count(summary.anomalies)) anomalies"
        if let last = summary.last_anomaly_at { body += " · last anomaly \(HTML.escape(last))" }
        body += "</p></header>\n"
        body += "<section id=\"status\"><h2>System status</h2>\(DashboardView.statusList(status))</section>\n"
        body += "<section id=\"plot\"><h2>Model v\(shown)</h2><p class=\"versions\">version: "
        for version in detail.versions.map(\.version).sorted() {
            body += "<a class=\"\(version == shown ? "current" : "")\" href=\"/dashboard/series/\(HTML.urlComponent(summary.series_id))?version=v\(version)\">v\(version)</a>"
        }
        body += " · <a href=\"/plot?series_id=\(HTML.urlComponent(summary.series_id))&amp;version=v\(shown)\">SVG</a></p><div class=\"plot\">"
        body += plot.map { PlotRenderer().render($0) } ?? "<p class=\"muted\">No training data for this version.</p>"
        body += "</div></section>\n"

        body += "<section id=\"versions\"><h2>Version history</h2><table><tr><th>version</th><th>points</th><th>mean</th><th>std</th><th>threshold</th><th class=\"text\">direction</th><th class=\"text\">trained at</th></tr>"
        for version in detail.versions {
            body += "<tr><td>v\(version.version)</td><td>\(PageLayout.count(version.points))</td><td>\(AxisTicks.format(version.mean))</td><td>\(AxisTicks.format(version.std))</td><td>\(AxisTicks.format(version.threshold))</td><td class=\"text\">\(HTML.escape(version.direction))</td><td class=\"text\">\(HTML.escape(version.trained_at))</td></tr>"
        }
        body += "</table></section>\n"

        body += "<section id=\"predictions\"><h2>Latest predictions</h2><table><tr><th>timestamp</th><th>value</th><th>z-score</th><th class=\"text\">anomaly</th><th>version</th><th class=\"text\">recorded at</th></tr>"
        for prediction in detail.recent_predictions {
            body += "<tr\(prediction.anomaly ? " class=\"anomaly\"" : "")><td>\(prediction.timestamp)</td><td>\(AxisTicks.format(prediction.value))</td><td>\(AxisTicks.format(prediction.z_score))</td><td class=\"text\">\(prediction.anomaly ? "anomaly" : "normal")</td><td>v\(prediction.version)</td><td class=\"text\">\(HTML.escape(prediction.recorded_at))</td></tr>"
        }
        if detail.recent_predictions.isEmpty {
            body += "<tr><td class=\"text\" colspan=\"6\">No predictions recorded yet.</td></tr>"
        }
        body += "</table></section>\n"
        return PageLayout.page(title: "Series \(summary.series_id) — anomaly detection", body: body)
    }
}
