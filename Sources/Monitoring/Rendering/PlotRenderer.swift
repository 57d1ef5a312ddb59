import AnomalyDetection
import Foundation

/// What a model plot shows: one version's training data, its parameters, and recent predictions.
public struct PlotInput: Sendable {
    public struct Point: Sendable {
        public var timestamp: Int64
        public var value: Double
        public var anomaly: Bool

        public init(timestamp: Int64, value: Double, anomaly: Bool) {
            self.timestamp = timestamp
            self.value = value
            self.anomaly = anomaly
        }
    }

    public var seriesID: String
    public var version: Int
    public var model: ThreeSigmaModel
    public var timestamps: [Int64]
    public var values: [Double]
    public var predictions: [Point]

    public init(seriesID: String, version: Int, model: ThreeSigmaModel, timestamps: [Int64], values: [Double], predictions: [Point]) {
        self.seriesID = seriesID
        self.version = version
        self.model = model
        self.timestamps = timestamps
        self.values = values
        self.predictions = predictions
    }
}

/// Draws a `PlotInput` as a self-contained SVG: the training values as a line (min/max-downsampled to the
/// plot's width), the mean, the ±threshold·std band shaded, predictions as dots (anomalies red), time and
/// value axes, a title and a legend. Pure: no I/O.
public struct PlotRenderer: Sendable {
    public var width = 960
    public var height = 420

    public init(width: Int = 960, height: Int = 420) {
        self.width = width
        self.height = height
    }

    private let left = 72.0, right = 24.0, top = 44.0, bottom = 48.0

    public func render(_ input: PlotInput) -> String {
        let model = input.model
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - top - bottom
        let allTimes = input.timestamps + input.predictions.map(\.timestamp)
        let allValues = input.values + input.predictions.map(\.value) + [model.lowerBound, model.upperBound, model.mean]
        let finite = allValues.filter(\.isFinite)
        let low = finite.min() ?? 0, high = finite.max() ?? 1
        let pad = high > low ? (high - low) * 0.05 : max(abs(low) * 0.05, 1)
        let (yMin, yMax) = (low - pad, high + pad)
        let tMin = allTimes.min() ?? 0, tMax = allTimes.max() ?? 1
        // In Double: a client's timestamps may span more than Int64 can subtract.
        let tSpan = max(Double(tMax) - Double(tMin), 1)
        func x(_ t: Int64) -> Double { left + (Double(t) - Double(tMin)) / tSpan * plotWidth }
        func y(_ v: Double) -> Double {
            let clamped = min(max(v, yMin), yMax)
            return top + (1 - (clamped - yMin) / (yMax - yMin)) * plotHeight
        }
        func f(_ number: Double) -> String { String(format: "%.1f", number) }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
        role="img" aria-label="\(HTML.escape(title(input)))" font-family="system-ui, sans-serif" font-size="12">
        <title>\(HTML.escape(title(input)))</title>
        <rect x="0" y="0" width="\(width)" height="\(height)" fill="#ffffff"/>

        """
        // The band and the mean.
        let bandTop = y(model.upperBound), bandBottom = y(model.lowerBound)
        svg += ##"<rect class="band" x="\##(f(left))" y="\##(f(bandTop))" width="\##(f(plotWidth))" height="\##(f(max(bandBottom - bandTop, 0)))" fill="#2563eb" fill-opacity="0.10"/>"##
        svg += "\n"
        for (bound, name) in [(model.upperBound, "upper"), (model.lowerBound, "lower")] {
            svg += ##"<line class="bound-\##(name)" x1="\##(f(left))" x2="\##(f(left + plotWidth))" y1="\##(f(y(bound)))" y2="\##(f(y(bound)))" stroke="#2563eb" stroke-opacity="0.5" stroke-dasharray="2 3"/>"##
            svg += "\n"
        }
        svg += ##"<line class="mean" x1="\##(f(left))" x2="\##(f(left + plotWidth))" y1="\##(f(y(model.mean)))" y2="\##(f(y(model.mean)))" stroke="#1e3a8a" stroke-dasharray="6 4"/>"##
        svg += "\n"

        // Axes, ticks and grid.
        svg += ##"<g class="axes" stroke="#9ca3af"><line x1="\##(f(left))" y1="\##(f(top + plotHeight))" x2="\##(f(left + plotWidth))" y2="\##(f(top + plotHeight))"/><line x1="\##(f(left))" y1="\##(f(top))" x2="\##(f(left))" y2="\##(f(top + plotHeight))"/></g>"##
        svg += "\n<g class=\"y-ticks\" fill=\"#374151\" text-anchor=\"end\">"
        for tick in AxisTicks.values(low: yMin, high: yMax) {
            let ty = y(tick)
            svg += ##"<line x1="\##(f(left - 4))" x2="\##(f(left + plotWidth))" y1="\##(f(ty))" y2="\##(f(ty))" stroke="#e5e7eb"/><text x="\##(f(left - 8))" y="\##(f(ty + 4))">\##(HTML.escape(AxisTicks.format(tick)))</text>"##
        }
        svg += "</g>\n<g class=\"x-ticks\" fill=\"#374151\" text-anchor=\"middle\">"
        for tick in AxisTicks.times(low: tMin, high: tMax) {
            let tx = x(tick.value)
            svg += ##"<line x1="\##(f(tx))" x2="\##(f(tx))" y1="\##(f(top + plotHeight))" y2="\##(f(top + plotHeight + 4))" stroke="#9ca3af"/><text x="\##(f(tx))" y="\##(f(top + plotHeight + 18))">\##(HTML.escape(tick.label))</text>"##
        }
        svg += "</g>\n"

        // The training data, downsampled to the pixel columns.
        let times = input.timestamps.map { Double($0) }
        let kept = Downsampling.minMaxIndices(x: times, y: input.values, columns: Int(plotWidth))
        if !kept.isEmpty {
            var points = ""
            points.reserveCapacity(kept.count * 12)
            for index in kept {
                points += f(x(input.timestamps[index])) + "," + f(y(input.values[index])) + " "
            }
            svg += ##"<polyline class="training" fill="none" stroke="#0f172a" stroke-width="1.2" stroke-linejoin="round" points="\##(points)"/>"##
            svg += "\n"
        }

        // Predictions: normal ones first so that anomalies are drawn on top.
        let ordered = input.predictions.filter { !$0.anomaly } + input.predictions.filter(\.anomaly)
        for point in ordered where point.value.isFinite {
            let color = point.anomaly ? "#dc2626" : "#16a34a"
            let kind = point.anomaly ? "prediction anomaly" : "prediction normal"
            svg += ##"<circle class="\##(kind)" cx="\##(f(x(point.timestamp)))" cy="\##(f(y(point.value)))" r="\##(point.anomaly ? 4 : 3)" fill="\##(color)" fill-opacity="0.85"/>"##
        }
        if !ordered.isEmpty { svg += "\n" }

        // Title and legend.
        svg += ##"<text class="title" x="\##(f(left))" y="20" font-size="15" font-weight="600" fill="#111827">\##(HTML.escape(title(input)))</text>"##
        svg += "\n"
        let legend = "mean \(AxisTicks.format(model.mean)) · std \(AxisTicks.format(model.std)) · band ±\(AxisTicks.format(model.threshold))σ (\(model.direction.rawValue)) · \(input.timestamps.count) points · \(input.predictions.count) recent predictions, \(input.predictions.filter(\.anomaly).count) anomalous"
        svg += ##"<text class="legend" x="\##(f(left))" y="36" fill="#4b5563">\##(HTML.escape(legend))</text>"##
        svg += "\n</svg>\n"
        return svg
    }

    private func title(_ input: PlotInput) -> String {
        "\(input.seriesID) — v\(input.version)"
    }
}
