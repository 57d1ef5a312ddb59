/// A batch of prediction records as the columns of the prediction-log INSERT: one group per (series,
/// version) in order of first appearance, each group's records in arrival order, every per-record field
/// flattened across groups. Pure, so the writer thread's share of the CPU (which it takes from the event
/// loops) stays small: records are read in place, never copied, and a run of records of one series (the
/// usual case) is grouped without hashing.
struct PredictionColumns {
    private(set) var seriesIDs: [String] = []
    private(set) var versions: [Int32] = []
    private(set) var counts: [Int32] = []
    private(set) var anomalyCounts: [Int32] = []
    /// 1-based position of each group's first record in the flattened columns.
    private(set) var starts: [Int32] = []
    private(set) var timestamps: [Int64] = []
    private(set) var values: [Double] = []
    private(set) var anomalies: [Bool] = []
    private(set) var zScores: [Double] = []
    private(set) var latencies: [Float] = []

    init(_ records: [PredictionRecord]) {
        struct Key: Hashable {
            let seriesID: String
            let version: Int
        }
        var groupOf: [Key: Int] = [:]
        var members: [[Int]] = []
        var last: (seriesID: String, version: Int, group: Int)?
        for index in records.indices {
            let seriesID = records[index].seriesID, version = records[index].version
            let group: Int
            if let last, last.version == version, last.seriesID == seriesID {
                group = last.group
            } else {
                let key = Key(seriesID: seriesID, version: version)
                if let known = groupOf[key] {
                    group = known
                } else {
                    group = members.count
                    groupOf[key] = group
                    members.append([])
                    seriesIDs.append(seriesID)
                    versions.append(Int32(clamping: version))
                }
                last = (seriesID, version, group)
            }
            members[group].append(index)
        }
        timestamps.reserveCapacity(records.count)
        values.reserveCapacity(records.count)
        anomalies.reserveCapacity(records.count)
        zScores.reserveCapacity(records.count)
        latencies.reserveCapacity(records.count)
        for indices in members {
            starts.append(Int32(clamping: timestamps.count + 1))
            counts.append(Int32(clamping: indices.count))
            var anomalous: Int32 = 0
            for index in indices {
                timestamps.append(records[index].timestamp)
                values.append(records[index].value)
                anomalies.append(records[index].anomaly)
                zScores.append(records[index].zScore)
                latencies.append(records[index].latencyMicroseconds)
                if records[index].anomaly { anomalous += 1 }
            }
            anomalyCounts.append(anomalous)
        }
    }
}
