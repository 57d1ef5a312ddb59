import AnomalyDetection
import Foundation
import Testing
@testable import Monitoring

@Suite("Plot rendering")
struct PlotRendererTests {
    private func model(mean: Double = 10, std: Double = 2, threshold: Double = 3) -> ThreeSigmaModel {
        ThreeSigmaModel(mean: mean, std: std, threshold: threshold, direction: .both, pointsUsed: 100)
    }

    @Test func downsamplingKeepsEveryColumnsExtremes() {
        let count = 100_000
        let x = (0..<count).map(Double.init)
        var y = (0..<count).map { sin(Double($0) / 500) }
        y[12_345] = 50     // a spike
        y[77_777] = -40    // a dip
        let kept = Downsampling.minMaxIndices(x: x, y: y, columns: 800)
        #expect(kept.count <= 4 * 800)
        #expect(kept.contains(12_345))
        #expect(kept.contains(77_777))
        #expect(kept.first == 0 && kept.last == count - 1)
        #expect(kept == kept.sorted())
        #expect(Set(kept).count == kept.count)
    }

    @Test func smallSeriesAreKeptWhole() {
        let kept = Downsampling.minMaxIndices(x: [1, 2, 3], y: [5, 1, 9], columns: 800)
        #expect(kept == [0, 1, 2])
    }

    @Test func pointsAreScaledIntoThePlotArea() throws {
        let input = PlotInput(seriesID: "s", version: 2, model: model(), timestamps: [0, 50, 100], values: [10, 20, 0], predictions: [])
        let renderer = PlotRenderer(width: 960, height: 420)
        let svg = renderer.render(input)
        let points = try #require(attribute("points", of: "polyline", in: svg))
        let pairs = points.split(separator: " ").map { $0.split(separator: ",").map { Double($0)! } }
        #expect(pairs.count == 3)
        // x: the first point at the left edge of the plot area (72), the last at the right (960 - 24).
        #expect(pairs[0][0] == 72 && pairs[2][0] == 936)
        // y: the highest value (20) is drawn above the lowest (0); SVG's y grows downwards.
        #expect(pairs[1][1] < pairs[0][1] && pairs[0][1] < pairs[2][1])
        // Every point lies inside the plot area.
        for pair in pairs { #expect(pair[1] >= 44 && pair[1] <= 420 - 48) }
    }

    @Test func bandMeanAndPredictionsAreDrawn() throws {
        let input = PlotInput(seriesID: "s", version: 1, model: model(), timestamps: Array(0..<10), values: Array(repeating: 10, count: 10),
                              predictions: [.init(timestamp: 11, value: 30, anomaly: true), .init(timestamp: 12, value: 11, anomaly: false)])
        let svg = PlotRenderer().render(input)
        #expect(svg.contains(#"class="band""#))
        #expect(svg.contains(#"class="mean""#))
        #expect(svg.components(separatedBy: #"class="prediction anomaly""#).count == 2)
        #expect(svg.components(separatedBy: #"class="prediction normal""#).count == 2)
        #expect(svg.contains("s — v1"))
        // The band spans mean ± 3 std = 4...16: its top (16) is above the mean line.
        let bandY = try #require(attribute("y", of: "rect class=\"band\"", in: svg).flatMap { Double($0) })
        let meanY = try #require(attribute("y1", of: "line class=\"mean\"", in: svg).flatMap { Double($0) })
        #expect(bandY < meanY)
    }

    @Test func aMillionPointsStaySmall() {
        let count = 1_000_000
        let timestamps = (0..<count).map { Int64(1_700_000_000 + $0) }
        let values = (0..<count).map { Double($0 % 1000) / 10 }
        let input = PlotInput(seriesID: "big", version: 1, model: model(mean: 50, std: 29), timestamps: timestamps, values: values, predictions: [])
        let svg = PlotRenderer().render(input)
        #expect(svg.utf8.count < 300_000)
    }

    @Test func userTextIsEscaped() {
        let input = PlotInput(seriesID: "<script>alert('x')</script>&", version: 1, model: model(), timestamps: [1, 2], values: [1, 2], predictions: [])
        let svg = PlotRenderer().render(input)
        #expect(!svg.contains("<script>"))
        #expect(svg.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"))
        #expect(HTML.escape("\"<a href='x'>&</a>\"") == "&quot;&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;&quot;")
    }

    @Test func ticksAreRoundAndCoverTheRange() {
        let ticks = AxisTicks.values(low: 0.3, high: 9.7)
        #expect(ticks.first! >= 0.3 && ticks.last! <= 9.7)
        #expect(ticks == [1, 2, 3, 4, 5, 6, 7, 8, 9] || ticks == [2, 4, 6, 8])
        let times = AxisTicks.times(low: 1_700_000_000, high: 1_700_086_400)
        #expect(times.count >= 3)
        #expect(times.allSatisfy { $0.value % 3600 == 0 })
        #expect(times.first?.label.count == 5)   // HH:MM
    }

    /// Timestamps are whatever non-negative Int64 a client fitted: the axis must not overflow on them.
    @Test func timestampsAtTheEdgeOfInt64RenderWithoutOverflow() throws {
        let ticks = AxisTicks.times(low: 0, high: .max)
        #expect(!ticks.isEmpty && ticks.count <= 50)
        #expect(ticks.map(\.value) == ticks.map(\.value).sorted())
        #expect(AxisTicks.times(low: .max - 10, high: .max).allSatisfy { $0.value >= .max - 10 })
        let input = PlotInput(seriesID: "s", version: 1, model: model(), timestamps: [0, .max / 2, .max], values: [1, 2, 3], predictions: [])
        let svg = PlotRenderer(width: 960, height: 420).render(input)
        let points = try #require(attribute("points", of: "polyline", in: svg))
        #expect(points.split(separator: " ").count == 3)
    }

    private func attribute(_ name: String, of element: String, in svg: String) -> String? {
        guard let start = svg.range(of: "<" + element) else { return nil }
        let rest = svg[start.upperBound...]
        guard let attributeStart = rest.range(of: " \(name)=\"") else { return nil }
        let value = rest[attributeStart.upperBound...]
        return value.firstIndex(of: "\"").map { String(value[..<$0]) }
    }
}
