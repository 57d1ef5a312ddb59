/// A batch of prediction records as the rows of the prediction log (`copyTuples`): one row per (series, version)
/// in order of first appearance, cut into rows of at most `rowLimit` records (so that a row fits in a heap
/// page), each row's records in arrival order in `PredictionLogFormat`. Pure, so the
/// writer thread's share of the CPU (which it takes from the event loops) stays small: records are read in
/// place, never copied, and a run of records of one series (the usual case) is grouped without hashing.
struct PredictionColumns {
    private(set) var seriesIDs: [String] = []
    private(set) var versions: [Int32] = []
    private(set) var counts: [Int32] = []
    private(set) var anomalyCounts: [Int32] = []
    /// Each row's records, `PredictionLogFormat.recordSize` bytes each.
    private(set) var records: [[UInt8]] = []

    private struct GroupKey: Hashable {
        let seriesID: String
        let version: Int
    }

    init<Records: RandomAccessCollection<PredictionRecord>>(_ predictions: Records, rowLimit: Int = 250) {
        precondition(rowLimit > 0, "a row holds at least one record")
        var groupOf: [GroupKey: Int] = [:]
        var groupKeys: [(seriesID: String, version: Int32)] = []
        var groupSizes: [Int] = []
        // Each record's group, then a stable counting sort by group: one array of positions for the whole
        // batch instead of one per group.
        var groupOfRecord: [Int] = []
        groupOfRecord.reserveCapacity(predictions.count)
        var last: (seriesID: String, version: Int, group: Int)?
        for record in predictions {
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
        var order = [Records.Index](repeating: predictions.startIndex, count: predictions.count)
        for (index, group) in zip(predictions.indices, groupOfRecord) {
            order[next[group]] = index
            next[group] += 1
        }
        for group in groupKeys.indices {
            let indices = order[groupStarts[group]..<groupStarts[group + 1]]
            var rowStart = indices.startIndex
            while rowStart < indices.endIndex {
                let row = indices[rowStart..<min(indices.endIndex, rowStart + rowLimit)]
                seriesIDs.append(groupKeys[group].seriesID)
                versions.append(groupKeys[group].version)
                counts.append(Int32(clamping: row.count))
                var anomalous: Int32 = 0
                var bytes = [UInt8](repeating: 0, count: row.count * PredictionLogFormat.recordSize)
                bytes.withUnsafeMutableBytes { buffer in
                    for (position, index) in row.enumerated() {
                        PredictionLogFormat.write(predictions[index], to: buffer, at: position * PredictionLogFormat.recordSize)
                        if predictions[index].anomaly { anomalous += 1 }
                    }
                }
                records.append(bytes)
                anomalyCounts.append(anomalous)
                rowStart = row.endIndex
            }
        }
    }
}
