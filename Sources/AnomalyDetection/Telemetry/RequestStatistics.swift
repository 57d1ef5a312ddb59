/// Requests of one kind (`predict`, `fit`) added up between two writes: how many, how many anomalous, their
/// latencies, and per series (predictions only) the counts the dashboard's series table shows.
public struct RequestStatistics: Sendable, Equatable {
    /// One series' share.
    public struct SeriesCounts: Sendable, Equatable {
        public var predictions: Int = 0
        public var anomalies: Int = 0
        /// The data timestamp of the latest anomalous prediction, if any.
        public var lastAnomalyTimestamp: Int64?
    }

    public let kind: String
    public private(set) var count = 0
    public private(set) var anomalies = 0
    public private(set) var latency = LatencyBuckets()
    public private(set) var series: [String: SeriesCounts] = [:]

    public init(kind: String) {
        self.kind = kind
    }

    public var isEmpty: Bool { count == 0 }

    /// A request that is not about one series' prediction (a fit).
    public mutating func add(latencyMicroseconds: Double, anomaly: Bool = false) {
        count += 1
        if anomaly { anomalies += 1 }
        latency.record(microseconds: latencyMicroseconds)
    }

    public mutating func add(_ record: PredictionRecord) {
        add(latencyMicroseconds: Double(record.latencyMicroseconds), anomaly: record.anomaly)
        series[record.seriesID, default: SeriesCounts()].predictions += 1
        if record.anomaly {
            series[record.seriesID, default: SeriesCounts()].anomalies += 1
            series[record.seriesID]?.lastAnomalyTimestamp = record.timestamp
        }
    }

    /// Adds many predictions; a run of one series (the usual batch) is looked up once, not once per record.
    public mutating func add<Records: Sequence<PredictionRecord>>(_ records: Records) {
        var run: (seriesID: String, counts: SeriesCounts)?
        for record in records {
            add(latencyMicroseconds: Double(record.latencyMicroseconds), anomaly: record.anomaly)
            if run?.seriesID != record.seriesID {
                if let run { addCounts(run.counts, to: run.seriesID) }
                run = (record.seriesID, SeriesCounts())
            }
            run!.counts.predictions += 1
            if record.anomaly {
                run!.counts.anomalies += 1
                run!.counts.lastAnomalyTimestamp = record.timestamp
            }
        }
        if let run { addCounts(run.counts, to: run.seriesID) }
    }

    private mutating func addCounts(_ counts: SeriesCounts, to seriesID: String) {
        var merged = series[seriesID, default: SeriesCounts()]
        merged.predictions += counts.predictions
        merged.anomalies += counts.anomalies
        merged.lastAnomalyTimestamp = counts.lastAnomalyTimestamp ?? merged.lastAnomalyTimestamp
        series[seriesID] = merged
    }
}
