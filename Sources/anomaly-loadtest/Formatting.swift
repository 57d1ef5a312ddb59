/// Number formatting for the text report and the progress line, without locale surprises.
enum Formatting {
    /// `value` with `digits` decimals, left-padded with spaces to `width`.
    static func fixed(_ value: Double, digits: Int, width: Int = 0) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled) - whole * Int(scale)
        var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let fractionText = String(fraction)
            text += "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
        }
        return text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    /// A share as a percentage with two decimals, e.g. `2.00 %`.
    static func percent(_ share: Double) -> String {
        fixed(share * 100, digits: 2) + " %"
    }
}
