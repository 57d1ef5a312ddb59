import AnomalyDetection
import Logging

/// The dashboard's reads from Postgres: indexed lookups and the counters the writers keep (`series_stats`,
/// `request_minutes`), so that no page sums the prediction log.
public final class DashboardStore: Sendable {
    private let pool: ConnectionPool<PostgresConnection>
    private let logger: Logger

    public init(connectionString: String, poolSize: Int = 4, logger: Logger) {
        self.logger = logger
        pool = ConnectionPool(
            capacity: poolSize,
            waitTimeout: 2,
            makeConnection: {
                // The log's records are read as bytea text, whatever the database's or role's default form.
                try PostgresConnection(connectionString: connectionString, connectTimeoutSeconds: 2, statementTimeoutMilliseconds: 5_000,
                                       replyTimeoutMilliseconds: 6_000, sessionSettings: ["bytea_output = hex"])
            },
            isHealthy: { $0.isHealthy },
            unavailable: { PostgresError(kind: .unavailable, message: "Postgres pool exhausted: \($0)") }
        )
    }

    public func ping() throws {
        _ = try use { try $0.execute(Queries.ping, []) }
    }

    public func overview() throws -> Overview {
        let (totals, minutes) = try use { connection in
            (try connection.execute(Queries.totals, []), try connection.execute(Queries.minutes, []))
        }
        guard let row = totals.namedRows.first else { throw PostgresError(kind: .statement, message: "totals returned no row") }
        let perMinute = try minutes.namedRows.map(Self.minuteStatistics)
        let predictions = try row.int("predictions")
        let anomalies = try row.int("anomalies")
        // The minutes were stamped by Postgres's clock, so "now" is Postgres's too.
        let recent = Self.lastSixtySeconds(perMinute.filter { $0.kind == "predict" }, now: try row.double("now"))
        return Overview(
            series_trained: try row.int("series"), model_versions: try row.int("versions"),
            predictions: predictions, anomalies: anomalies,
            anomaly_rate: predictions > 0 ? Double(anomalies) / Double(predictions) : 0,
            predictions_last_minute: recent.requests, anomalies_last_minute: recent.anomalies,
            minutes: perMinute
        )
    }

    /// The last 60 seconds from per-minute counts: all of the current minute plus the share of the
    /// previous one that is still inside the window (counts are assumed even within a minute).
    static func lastSixtySeconds(_ minutes: [MinuteStatistics], now: Double) -> (requests: Int, anomalies: Int) {
        let current = Int64(now / 60) * 60
        let share = 1 - (now - Double(current)) / 60
        let this = minutes.first { $0.minute == current }, previous = minutes.first { $0.minute == current - 60 }
        func blend(_ value: (MinuteStatistics) -> Int) -> Int {
            (this.map(value) ?? 0) + Int((Double(previous.map(value) ?? 0) * share).rounded())
        }
        return (blend(\.requests), blend(\.anomalies))
    }

    public func seriesPage(_ query: SeriesQuery) throws -> SeriesPage {
        let pattern = "%" + Self.escapeLike(query.search) + "%"
        let sql = """
            SELECT \(Queries.seriesColumns), count(*) OVER () AS total
            FROM series s
            JOIN model_versions m ON m.series_id = s.series_id AND m.version = s.latest_version
            LEFT JOIN series_stats st ON st.series_id = s.series_id
            WHERE $1 = '' OR s.series_id ILIKE $2
            ORDER BY \(query.sort.expression) \(query.descending ? "DESC NULLS LAST" : "ASC NULLS LAST"), s.series_id
            LIMIT $3 OFFSET $4
            """
        let result = try use {
            try $0.execute(sql, [.text(query.search), .text(pattern), .int(Int64(query.pageSize)), .int(Int64((query.page - 1) * query.pageSize))])
        }
        let rows = result.namedRows
        var total = try rows.first?.int("total") ?? 0
        if rows.isEmpty && query.page > 1 {
            // Past the end: the total still tells the pager where the end is.
            total = try use { try $0.execute("SELECT count(*) FROM series s WHERE $1 = '' OR s.series_id ILIKE $2", [.text(query.search), .text(pattern)]) }.namedRows.first?.int("count") ?? 0
        }
        return SeriesPage(
            series: try rows.map(Self.seriesRow), total: total, page: query.page, page_size: query.pageSize,
            sort: query.sort.rawValue, order: query.descending ? "desc" : "asc", search: query.search
        )
    }

    /// The series page's data, or nil for an unknown series.
    public func seriesDetail(_ seriesID: String, recent: Int = 50) throws -> SeriesDetail? {
        let (summary, versions, predictions) = try use { connection in
            (try connection.execute(Queries.oneSeries, [.text(seriesID)]),
             try connection.execute(Queries.versions, [.text(seriesID)]),
             try connection.execute(Queries.recentPredictions, [.text(seriesID), .int(Int64(recent))]))
        }
        guard let row = summary.namedRows.first else { return nil }
        return SeriesDetail(
            summary: try Self.seriesRow(row),
            versions: try versions.namedRows.map { VersionRow(try PostgresModelStore.storedModel($0)) },
            recent_predictions: try Self.recentPredictions(predictions, limit: recent)
        )
    }

    /// A version's parameters and training data, and the series' recent predictions; nil when unknown.
    /// - Parameter version: nil for the latest.
    public func plotInput(_ seriesID: String, version: Int?, recent: Int = 500) throws -> PlotInput? {
        let fetched = try use { connection -> (StoredModel, PostgresResult, PostgresResult)? in
            let model = try connection.execute(Queries.plotModel, [.text(seriesID), version.map { .int(Int64($0)) } ?? .null])
            guard let row = model.namedRows.first else { return nil }
            let stored = try PostgresModelStore.storedModel(row)
            return (stored,
                    try connection.execute(Queries.trainingData, [.text(seriesID), .int(Int64(stored.version))]),
                    try connection.execute(Queries.recentPredictions, [.text(seriesID), .int(Int64(recent))]))
        }
        guard let (stored, data, predictions) = fetched else { return nil }
        let dataRow = data.namedRows.first
        let timestamps = PostgresArrayText.integers(dataRow?["timestamps"] ?? "{}")
        let values = PostgresArrayText.doubles(dataRow?["values"] ?? "{}")
        let count = min(timestamps.count, values.count)
        return PlotInput(
            seriesID: stored.seriesID, version: stored.version, model: stored.model,
            timestamps: Array(timestamps.prefix(count)), values: Array(values.prefix(count)),
            predictions: try Self.recentPredictions(predictions, limit: recent).map { PlotInput.Point(timestamp: $0.timestamp, value: $0.value, anomaly: $0.anomaly) }
        )
    }

    private func use<Result>(_ body: (PostgresConnection) throws -> Result) throws -> Result {
        do {
            return try pool.withConnection(body)
        } catch let error as PostgresError where error.kind == .unavailable {
            pool.drainIdle()
            throw error
        }
    }

    static func escapeLike(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }

    private static func minuteStatistics(_ row: PostgresRow) throws -> MinuteStatistics {
        let buckets = LatencyBuckets(counts: PostgresArrayText.integers(try row.string("latency_buckets")))
        let requests = try row.int("requests")
        return MinuteStatistics(
            minute: Int64(try row.int("minute")), kind: try row.string("kind"), requests: requests, anomalies: try row.int("anomalies"),
            requests_per_second: Double(requests) / 60, p95_ms: buckets.percentile(0.95).map { $0 / 1000 }
        )
    }

    private static func seriesRow(_ row: PostgresRow) throws -> SeriesRow {
        SeriesRow(
            series_id: try row.string("series_id"), latest_version: try row.int("version"), points: try row.int("points_used"),
            mean: try row.double("mean"), std: try row.double("std"), threshold: try row.double("threshold"),
            direction: try row.string("direction"), trained_at: try row.string("trained_at"),
            predictions: try row.int("predictions"), anomalies: try row.int("anomalies"),
            last_anomaly_at: row["last_anomaly_at"], last_anomaly_timestamp: row["last_anomaly_ts"].flatMap { Int64($0) }
        )
    }

    /// The newest `limit` predictions of batches given newest first, newest first.
    static func recentPredictions(_ batches: PostgresResult, limit: Int) throws -> [RecordedPrediction] {
        var predictions: [RecordedPrediction] = []
        for row in batches.namedRows where predictions.count < limit {
            let version = try row.int("version"), recordedAt = try row.string("recorded_at")
            for entry in PredictionLogFormat.decode(try row.bytes("records")).reversed().prefix(limit - predictions.count) {
                predictions.append(RecordedPrediction(
                    timestamp: entry.timestamp, value: entry.value, anomaly: entry.anomaly, z_score: saturated(entry.zScore),
                    version: version, recorded_at: recordedAt
                ))
            }
        }
        return predictions
    }

    /// JSON has no infinity: scores logged before they were saturated at the source may hold one.
    static func saturated(_ value: Double) -> Double {
        value.isNaN ? 0 : min(max(value, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
    }
}

/// The dashboard's SQL.
enum Queries {
    static func rfc3339(_ column: String, as name: String) -> String {
        #"to_char(\#(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS \#(name)"#
    }

    static let seriesColumns = """
        s.series_id, s.latest_version AS version, m.points_used, m.mean, m.std, m.threshold, m.direction, \(rfc3339("m.trained_at", as: "trained_at")),
        coalesce(st.predictions, 0) AS predictions, coalesce(st.anomalies, 0) AS anomalies,
        \(rfc3339("st.last_anomaly_at", as: "last_anomaly_at")), st.last_anomaly_ts
        """

    static let ping = PostgresStatement(name: "dashboard_ping", sql: "SELECT 1")

    static let totals = PostgresStatement(name: "dashboard_totals", sql: """
        SELECT (SELECT count(*) FROM series) AS series, (SELECT count(*) FROM model_versions) AS versions,
               (SELECT coalesce(sum(predictions), 0) FROM series_stats) AS predictions,
               (SELECT coalesce(sum(anomalies), 0) FROM series_stats) AS anomalies,
               extract(epoch FROM now())::float8 AS now
        """)

    static let minutes = PostgresStatement(name: "dashboard_minutes", sql: """
        SELECT extract(epoch FROM minute)::bigint AS minute, kind, requests, anomalies, latency_buckets
        FROM request_minutes WHERE minute >= date_trunc('minute', now()) - interval '59 minutes'
        ORDER BY minute, kind
        """)

    static let oneSeries = PostgresStatement(name: "dashboard_series", sql: """
        SELECT \(seriesColumns)
        FROM series s
        JOIN model_versions m ON m.series_id = s.series_id AND m.version = s.latest_version
        LEFT JOIN series_stats st ON st.series_id = s.series_id
        WHERE s.series_id = $1
        """)

    static let versions = PostgresStatement(name: "dashboard_versions", sql: """
        SELECT series_id, version, mean, std, threshold, direction, points_used, \(rfc3339("trained_at", as: "trained_at"))
        FROM model_versions WHERE series_id = $1 ORDER BY version DESC
        """)

    /// The newest batches first (index `prediction_batches_series_recent`), only as many as hold the newest `$2`
    /// predictions; `DashboardStore.recentPredictions` decodes them.
    static let recentPredictions = PostgresStatement(name: "dashboard_recent_predictions", sql: """
        SELECT version, records, \(rfc3339("recorded_at", as: "recorded_at"))
        FROM (SELECT id, version, recorded_at, records, sum(count) OVER (ORDER BY id DESC) - count AS newer
              FROM (SELECT id, version, recorded_at, records, count FROM prediction_batches
                    WHERE series_id = $1 ORDER BY id DESC LIMIT $2) AS latest) AS b
        WHERE newer < $2
        ORDER BY id DESC
        """)

    /// `$2` null: the latest version.
    static let plotModel = PostgresStatement(name: "dashboard_plot_model", sql: """
        SELECT m.series_id, m.version, m.mean, m.std, m.threshold, m.direction, m.points_used, \(rfc3339("m.trained_at", as: "trained_at"))
        FROM model_versions m JOIN series s ON s.series_id = m.series_id
        WHERE m.series_id = $1 AND m.version = coalesce($2::integer, s.latest_version)
        """)

    static let trainingData = PostgresStatement(name: "dashboard_training_data", sql: """
        SELECT timestamps, "values" FROM training_data WHERE series_id = $1 AND version = $2
        """)
}

/// Postgres's text form of one-dimensional numeric arrays (`{1,2,3}`).
enum PostgresArrayText {
    static func integers(_ text: String) -> [Int64] {
        elements(text).compactMap { Int64(Substring($0)) }
    }

    static func doubles(_ text: String) -> [Double] {
        elements(text).compactMap { element in
            let text = Substring(element)
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: return Double(text)
            }
        }
    }

    private static func elements(_ text: String) -> [Substring.UTF8View.SubSequence] {
        let bytes = text.utf8
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}"), bytes.count > 2 else { return [] }
        return bytes.dropFirst().dropLast().split(separator: UInt8(ascii: ","))
    }
}
