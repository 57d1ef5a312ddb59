/// A batch of prediction records as the columns of the prediction-log INSERT: one row per (series, version)
/// in order of first appearance, cut into rows of at most `rowLimit` records (so that a row fits in a heap
/// page), each row's records in arrival order, every per-record field flattened across rows. Pure, so the
/// writer thread's share of the CPU (which it takes from the event loops) stays small: records are read in
/// place, never copied, and a run of records of one series (the usual case) is grouped without hashing.
struct PredictionColumns {
    private(set) var seriesIDs: [String] = []
    private(set) var versions: [Int32] = []
    private(set) var counts: [Int32] = []
    private(set) var anomalyCounts: [Int32] = []
    /// 1-based position of each row's first record in the flattened columns.
    private(set) var starts: [Int32] = []
    private(set) var timestamps: [Int64] = []
    private(set) var values: [Double] = []
    private(set) var anomalies: [Bool] = []
    private(set) var zScores: [Double] = []
    private(set) var latencies: [Float] = []

    private struct GroupKey: Hashable {
        let seriesID: String
        let version: Int
    }

    init<Records: RandomAccessCollection<PredictionRecord>>(_ records: Records, rowLimit: Int = 250) {
        precondition(rowLimit > 0, "a row holds at least one record")
        var groupOf: [GroupKey: Int] = [:]
        var groupKeys: [(seriesID: String, version: Int32)] = []
        var groupSizes: [Int] = []
        // Each record's group, then a stable counting sort by group: one array of positions for the whole
        // batch instead of one per group.
        var groupOfRecord: [Int] = []
        groupOfRecord.reserveCapacity(records.count)
        var last: (seriesID: String, version: Int, group: Int)?
        for record in records {
            let group: Int
            if let last, last.version == record.version, last.seriesID == record.seriesID {
                group = last.group
            } else {
                let key = GroupKey(seriesID: record.seriesID, version: record.version)
                if let known = groupOf[key] {
                    group = known
                } else {
                    group = groupKeys.count
                    groupOf[key] = group
                    groupKeys.append((record.seriesID, Int32(clamping: record.version)))
                    groupSizes.append(0)
                }
                last = (record.seriesID, record.version, group)
            }
            groupOfRecord.append(group)
            groupSizes[group] += 1
        }
        var groupStarts: [Int] = []
        groupStarts.reserveCapacity(groupSizes.count + 1)
        groupStarts.append(0)
        for size in groupSizes { groupStarts.append(groupStarts[groupStarts.count - 1] + size) }
        var next = groupStarts
        var order = [Records.Index](repeating: records.startIndex, count: records.count)
        for (index, group) in zip(records.indices, groupOfRecord) {
            order[next[group]] = index
            next[group] += 1
        }
        timestamps.reserveCapacity(records.count)
        values.reserveCapacity(records.count)
        anomalies.reserveCapacity(records.count)
        zScores.reserveCapacity(records.count)
        latencies.reserveCapacity(records.count)
        for group in groupKeys.indices {
            let indices = order[groupStarts[group]..<groupStarts[group + 1]]
            var rowStart = indices.startIndex
            while rowStart < indices.endIndex {
                let row = indices[rowStart..<min(indices.endIndex, rowStart + rowLimit)]
                seriesIDs.append(groupKeys[group].seriesID)
                versions.append(groupKeys[group].version)
                starts.append(Int32(clamping: timestamps.count + 1))
                counts.append(Int32(clamping: row.count))
                var anomalous: Int32 = 0
                for index in row {
                    timestamps.append(records[index].timestamp)
                    values.append(records[index].value)
                    anomalies.append(records[index].anomaly)
                    zScores.append(records[index].zScore)
                    latencies.append(records[index].latencyMicroseconds)
                    if records[index].anomaly { anomalous += 1 }
                }
                anomalyCounts.append(anomalous)
                rowStart = row.endIndex
            }
        }
    }
}
