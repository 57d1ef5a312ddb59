import Foundation

/// The series a model is trained on: generated (a noisy sine around 50) or read from a CSV file.
struct TrainingSeries: Sendable, Equatable {
    /// Unix seconds, in the order given.
    var timestamps: [Int64]
    /// One value per timestamp.
    var values: [Double]

    /// A noisy sine around 50: amplitude 6 over a period of 60 points plus Gaussian noise of σ 2.5,
    /// so the population standard deviation is about 5.
    /// - Parameters:
    ///   - points: how many points.
    ///   - startTimestamp: the first timestamp; the others follow every `interval` seconds.
    ///   - seed: the noise's seed, so that runs are reproducible.
    static func generated(points: Int, startTimestamp: Int64, interval: Int64 = 60, seed: UInt64) -> TrainingSeries {
        var random = SplitMix64(seed: seed)
        var timestamps: [Int64] = []
        var values: [Double] = []
        timestamps.reserveCapacity(points)
        values.reserveCapacity(points)
        for index in 0..<points {
            timestamps.append(startTimestamp + Int64(index) * interval)
            let phase = 2 * Double.pi * Double(index) / 60
            let value = 50 + 6 * sin(phase) + 2.5 * random.nextGaussian()
            values.append((value * 10_000).rounded() / 10_000)
        }
        return TrainingSeries(timestamps: timestamps, values: values)
    }

    /// Reads a CSV file with the header `timestamp,value`.
    /// - Throws: `LoadTestError` naming the file and, for bad content, the line.
    static func load(csvPath: String) throws -> TrainingSeries {
        let text: String
        do {
            text = try String(contentsOfFile: csvPath, encoding: .utf8)
        } catch {
            throw LoadTestError("--csv \(csvPath): cannot read the file (\(error.localizedDescription))")
        }
        do {
            return try parseCSV(text)
        } catch let error as LoadTestError {
            throw LoadTestError("--csv \(csvPath): \(error.description)")
        }
    }

    /// Parses `timestamp,value` CSV text: a header line, then one integer unix timestamp and one
    /// finite number per line. Blank lines are skipped; fields may be quoted.
    /// - Throws: `LoadTestError` with the line number of the first bad line.
    static func parseCSV(_ text: String) throws -> TrainingSeries {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        var series = TrainingSeries(timestamps: [], values: [])
        var sawHeader = false
        for (offset, rawLine) in lines.enumerated() {
            let lineNumber = offset + 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(unquoted)
            if !sawHeader {
                guard fields.map({ $0.lowercased() }) == ["timestamp", "value"] else {
                    throw LoadTestError("line \(lineNumber): expected the header 'timestamp,value', got '\(line)'")
                }
                sawHeader = true
                continue
            }
            guard fields.count == 2 else {
                throw LoadTestError("line \(lineNumber): expected 2 fields, got \(fields.count)")
            }
            guard let timestamp = integerTimestamp(fields[0]) else {
                throw LoadTestError("line \(lineNumber): timestamp '\(fields[0])' is not an integer unix time")
            }
            guard let value = Double(fields[1]), value.isFinite else {
                throw LoadTestError("line \(lineNumber): value '\(fields[1])' is not a finite number")
            }
            series.timestamps.append(timestamp)
            series.values.append(value)
        }
        guard sawHeader else { throw LoadTestError("empty file; expected the header 'timestamp,value'") }
        guard series.values.count >= 3 else {
            throw LoadTestError("\(series.values.count) data line(s); at least 3 are needed to train")
        }
        return series
    }

    /// The arithmetic mean of the values.
    var mean: Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// The population standard deviation (divide by n), as the service's model computes it.
    var standardDeviation: Double {
        guard !values.isEmpty else { return 0 }
        var mean = 0.0
        var squares = 0.0
        for (index, value) in values.enumerated() {
            let delta = value - mean
            mean += delta / Double(index + 1)
            squares += delta * (value - mean)
        }
        return (squares / Double(values.count)).squareRoot()
    }

    /// The typical spacing of the timestamps, for continuing the series in time (60 when unknown).
    var interval: Int64 {
        guard let first = timestamps.first, let last = timestamps.last, timestamps.count >= 2, last > first else { return 60 }
        return max(1, (last - first) / Int64(timestamps.count - 1))
    }

    /// The `POST /fit` body: `{"timestamps": [...], "values": [...]}`.
    func fitBody() -> [UInt8] {
        struct FitRequest: Encodable {
            var timestamps: [Int64]
            var values: [Double]
        }
        // Encoding two arrays of numbers cannot fail.
        let data = (try? JSONEncoder().encode(FitRequest(timestamps: timestamps, values: values))) ?? Data()
        return Array(data)
    }

    private static func unquoted(_ field: Substring) -> String {
        var text = field.trimmingCharacters(in: .whitespaces)
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            text = String(text.dropFirst().dropLast())
        }
        return text
    }

    private static func integerTimestamp(_ text: String) -> Int64? {
        if let integer = Int64(text) { return integer }
        guard let number = Double(text), number.isFinite, number == number.rounded(), abs(number) < 1e15 else { return nil }
        return Int64(number)
    }
}
