import Foundation

/// Round tick positions for plot axes.
public enum AxisTicks {
    /// About `target` values at 1, 2 or 5 × 10^n steps covering `low...high`.
    public static func values(low: Double, high: Double, target: Int = 6) -> [Double] {
        guard low.isFinite, high.isFinite, high > low else { return low.isFinite ? [low] : [] }
        let rough = (high - low) / Double(max(target, 1))
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        var ticks: [Double] = []
        var tick = (low / step).rounded(.up) * step
        while tick <= high + step * 1e-9 && ticks.count < 50 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        return ticks
    }

    /// Unix-second ticks at a readable step (seconds up to years) with labels fit for that step.
    public static func times(low: Int64, high: Int64, target: Int = 6) -> [(value: Int64, label: String)] {
        guard high > low else { return [(low, label(low, step: 1))] }
        let steps: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2_592_000, 7_776_000, 31_536_000]
        // Timestamps are any non-negative Int64 a client sent: the span and the steps must not overflow.
        let span = high.subtractingReportingOverflow(low)
        let rough = (span.overflow ? Int64.max : span.partialValue) / Int64(max(target, 1))
        let step = steps.first { $0 >= rough } ?? max(rough, 1)
        let first = low.addingReportingOverflow(step - 1)
        guard !first.overflow else { return [(low, label(low, step: step))] }
        var ticks: [(Int64, String)] = []
        var tick = first.partialValue / step * step
        while tick <= high && ticks.count < 50 {
            ticks.append((tick, label(tick, step: step)))
            let next = tick.addingReportingOverflow(step)
            if next.overflow { break }
            tick = next.partialValue
        }
        return ticks
    }

    /// A label in UTC: the date for day-sized steps, the time for smaller ones (with seconds when needed).
    static func label(_ seconds: Int64, step: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let date = String(format: "%04d-%02d-%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        if step >= 86400 { return date }
        if step >= 60 { return String(format: "%02d:%02d", Int(parts.tm_hour), Int(parts.tm_min)) }
        return String(format: "%02d:%02d:%02d", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// A compact number for an axis or a table: at most about 6 significant digits, no float noise.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "-∞") }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        let magnitude = abs(value)
        if magnitude >= 1e6 || magnitude < 1e-3 { return String(format: "%.3g", value) }
        var text = String(format: "%.4f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
