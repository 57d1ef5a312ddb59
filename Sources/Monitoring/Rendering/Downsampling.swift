/// Reduces a series to what a plot `columns` pixels wide can show: for each column, the first, the lowest,
/// the highest and the last point, in time order. Extremes survive (an anomaly spike is never averaged
/// away), and a 1M-point series becomes at most 4 × columns points.
public enum Downsampling {
    /// - Parameters:
    ///   - x: the x of each point, ascending.
    ///   - y: the y of each point.
    /// - Returns: the indices to keep, ascending; all of them when there are few enough.
    public static func minMaxIndices(x: [Double], y: [Double], columns: Int) -> [Int] {
        let count = min(x.count, y.count)
        guard count > 4 * max(columns, 1), let first = x.first, let last = x.last, last > first else {
            return Array(0..<count)
        }
        var kept: [Int] = []
        kept.reserveCapacity(4 * columns)
        let width = (last - first) / Double(columns)
        var index = 0
        while index < count {
            let column = min(columns - 1, Int((x[index] - first) / width))
            let start = index
            var lowest = index
            var highest = index
            index += 1
            while index < count && min(columns - 1, Int((x[index] - first) / width)) == column {
                if y[index] < y[lowest] { lowest = index }
                if y[index] > y[highest] { highest = index }
                index += 1
            }
            let end = index - 1
            for keep in Set([start, lowest, highest, end]).sorted() { kept.append(keep) }
        }
        return kept
    }
}
