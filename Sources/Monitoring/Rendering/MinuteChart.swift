import Foundation

/// A small SVG chart of one value per minute over the last hour (requests/s, p95), as bars.
public enum MinuteChart {
    public struct Point: Sendable {
        public var minute: Int64
        public var value: Double?

        public init(minute: Int64, value: Double?) {
            self.minute = minute
            self.value = value
        }
    }

    /// - Parameters:
    ///   - now: unix seconds; the chart covers the 60 minutes that end with the current one.
    public static func render(title: String, unit: String, points: [Point], now: Int64, width: Int = 460, height: Int = 180, color: String = "#2563eb") -> String {
        let left = 56.0, right = 12.0, top = 28.0, bottom = 28.0
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
        let end = now / 60 * 60
        let start = end - 59 * 60
        let values = points.filter { $0.minute >= start && $0.minute <= end }
        let high = max(values.compactMap(\.value).max() ?? 0, 1e-9)
        let ticks = AxisTicks.values(low: 0, high: high * 1.05, target: 4)
        let top_ = max(ticks.last ?? high, high)
        func y(_ v: Double) -> Double { top + (1 - v / top_) * plotHeight }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let slot = plotWidth / 60
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" role="img" aria-label="\(HTML.escape(title))" font-family="system-ui, sans-serif" font-size="11">
        <title>\(HTML.escape(title))</title>
        <text x="\(f(left))" y="16" font-size="13" font-weight="600" fill="#111827">\(HTML.escape(title))</text>
        """
        for tick in ticks {
            svg += ##"<line x1="\##(f(left))" x2="\##(f(left + plotWidth))" y1="\##(f(y(tick)))" y2="\##(f(y(tick)))" stroke="#e5e7eb"/><text x="\##(f(left - 6))" y="\##(f(y(tick) + 4))" text-anchor="end" fill="#6b7280">\##(HTML.escape(AxisTicks.format(tick)))</text>"##
        }
        for point in values {
            guard let value = point.value else { continue }
            let slotIndex = Double((point.minute - start) / 60)
            let barTop = y(value)
            svg += ##"<rect class="bar" x="\##(f(left + slotIndex * slot + 1))" y="\##(f(barTop))" width="\##(f(max(slot - 2, 1)))" height="\##(f(top + plotHeight - barTop))" fill="\##(color)"><title>\##(HTML.escape(AxisTicks.label(point.minute, step: 60))) UTC: \##(HTML.escape(AxisTicks.format(value))) \##(HTML.escape(unit))</title></rect>"##
        }
        svg += ##"<line x1="\##(f(left))" x2="\##(f(left + plotWidth))" y1="\##(f(top + plotHeight))" y2="\##(f(top + plotHeight))" stroke="#9ca3af"/>"##
        for offset in stride(from: 0, through: 60, by: 15) {
            let minute = start + Int64(offset) * 60
            let x = left + Double(offset) * slot
            svg += ##"<text x="\##(f(min(x, left + plotWidth - 16)))" y="\##(f(top + plotHeight + 16))" text-anchor="middle" fill="#6b7280">\##(HTML.escape(AxisTicks.label(minute, step: 60)))</text>"##
        }
        if values.allSatisfy({ $0.value == nil }) {
            svg += ##"<text x="\##(f(left + plotWidth / 2))" y="\##(f(top + plotHeight / 2))" text-anchor="middle" fill="#9ca3af">no requests in the last hour</text>"##
        }
        svg += "<text x=\"\(f(Double(width) - right))\" y=\"16\" text-anchor=\"end\" fill=\"#6b7280\">\(HTML.escape(unit))</text></svg>"
        return svg
    }
}
