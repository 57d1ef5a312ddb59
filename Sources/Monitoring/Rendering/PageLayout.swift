import Foundation

/// The frame every dashboard page shares: inline CSS, no external resource of any kind (the service sends
/// a Content-Security-Policy that would block one anyway), and a meta refresh instead of a script.
enum PageLayout {
    /// Seconds between automatic reloads.
    static let refreshSeconds = 5

    static func page(title: String, refresh: Bool = true, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        \(refresh ? "<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">" : "")
        <title>\(HTML.escape(title))</title>
        <style>\(css)</style>
        </head>
        <body>
        \(body)
        <footer>Rendered \(HTML.escape(utcNow())) UTC\(refresh ? " · refreshes every \(refreshSeconds) s" : "") · <a href="/docs">API docs</a> · <a href="/api/overview">JSON</a></footer>
        </body>
        </html>

        """
    }

    static func utcNow() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date())
    }

    /// Durations in milliseconds, with sensible precision.
    static func milliseconds(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        if value < 1 { return String(format: "%.3f ms", value) }
        if value < 100 { return String(format: "%.2f ms", value) }
        return String(format: "%.0f ms", value)
    }

    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }

    static func percent(_ value: Double) -> String {
        String(format: "%.2f%%", value * 100)
    }

    static let css = """
    :root{color-scheme:light;--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--up:#16a34a;--degraded:#d97706;--down:#dc2626;--accent:#2563eb}
    *{box-sizing:border-box}body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:#f8fafc}
    h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 10px}a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
    header p,footer,.muted{color:var(--muted)}footer{margin-top:32px;font-size:12px}
    .status{display:flex;flex-wrap:wrap;gap:10px;list-style:none;padding:0;margin:0}
    .status li{background:#fff;border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:6px;padding:8px 14px;min-width:170px}
    .status li.up{border-left-color:var(--up)}.status li.degraded{border-left-color:var(--degraded)}.status li.down{border-left-color:var(--down);background:#fef2f2}
    .status .state{font-weight:600;text-transform:uppercase;font-size:12px}.up .state{color:var(--up)}.degraded .state{color:var(--degraded)}.down .state{color:var(--down)}
    .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
    .card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 14px}.card .value{font-size:22px;font-weight:600}.card .label{color:var(--muted);font-size:12px}
    .card.alert .value{color:var(--down)}
    table{border-collapse:collapse;background:#fff;border:1px solid var(--line);width:100%}th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
    th{background:#f1f5f9;font-weight:600}th:first-child,td:first-child{text-align:left}td.text,th.text{text-align:left}
    tr.anomaly td{background:#fef2f2;color:#991b1b}th a{color:inherit}
    .charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg,.plot svg{background:#fff;border:1px solid var(--line);border-radius:6px;max-width:100%;height:auto}
    form.search{margin:0 0 10px;display:flex;gap:8px}form.search input{padding:6px 8px;border:1px solid var(--line);border-radius:4px;min-width:260px}
    .pager{margin-top:8px;display:flex;gap:12px;align-items:center}.versions a{margin-right:8px}.versions a.current{font-weight:700;text-decoration:underline}
    """
}
