import Foundation
import Logging

/// `ModelStore` on Postgres through a bounded pool of libpq connections.
public final class PostgresModelStore: ModelStore, PredictionLogStore {
    /// How to reach Postgres and how much of it to use.
    public struct Configuration: Sendable {
        /// A `postgresql://` URL or `key=value` pairs.
        public var connectionString: String
        /// The most connections this process opens (`DB_POOL_SIZE`).
        public var poolSize: Int = 8
        /// How long connecting may take before the request is answered 503.
        public var connectTimeoutSeconds: Int = 2
        /// How long one statement may run before the server cancels it.
        public var statementTimeoutMilliseconds: Int = 2_500
        /// How long to wait for any answer before dropping the connection (a hung server).
        public var replyTimeoutMilliseconds: Int = 3_000
        /// Extra `SET` statements for every session of this store.
        public var sessionSettings: [String] = []
        /// How long migrating the schema may take: a migration may rewrite a large table (migration 6 converts
        /// the prediction log at about a million predictions a second on this machine), far beyond a request's statement timeout.
        public var migrationTimeoutSeconds: Int = 3_600

        public init(connectionString: String) {
            self.connectionString = connectionString
        }
    }

    private let pool: ConnectionPool<PostgresConnection>
    private let configuration: Configuration
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        pool = ConnectionPool(
            capacity: configuration.poolSize,
            waitTimeout: Double(configuration.connectTimeoutSeconds),
            makeConnection: {
                try PostgresConnection(
                    connectionString: configuration.connectionString,
                    connectTimeoutSeconds: configuration.connectTimeoutSeconds,
                    statementTimeoutMilliseconds: configuration.statementTimeoutMilliseconds,
                    replyTimeoutMilliseconds: configuration.replyTimeoutMilliseconds,
                    sessionSettings: configuration.sessionSettings
                )
            },
            isHealthy: { $0.isHealthy },
            unavailable: { PostgresError(kind: .unavailable, message: "Postgres pool exhausted: \($0)") }
        )
    }

    /// Creates or migrates the schema.
    /// - Parameter willApply: called before each migration this call applies.
    /// - Returns: the migrations applied now.
    @discardableResult
    public func migrate(willApply: (SchemaMigrations.Migration) -> Void = { _ in }) throws -> [Int] {
        // A connection of its own, not the pool's: their timeouts are a request's.
        let connection = try PostgresConnection(
            connectionString: configuration.connectionString,
            connectTimeoutSeconds: configuration.connectTimeoutSeconds,
            statementTimeoutMilliseconds: configuration.migrationTimeoutSeconds * 1_000,
            replyTimeoutMilliseconds: (configuration.migrationTimeoutSeconds + 5) * 1_000
        )
        return try SchemaMigrations.apply(on: connection, willApply: willApply)
    }

    public func save(seriesID: SeriesID, model: ThreeSigmaModel, data: TrainingSeries) throws -> StoredModel {
        // One statement, so one round trip and one implicit transaction: the row lock the upsert takes on the
        // series serializes concurrent fits of it, which is what makes versions consecutive.
        let result = try use {
            try $0.execute(Statements.saveModel, [
                .text(seriesID.rawValue),
                .double(model.mean), .double(model.std), .double(model.threshold), .text(model.direction.rawValue),
                .int(Int64(model.pointsUsed)),
                .int(data.timestamps.first ?? 0), .int(data.timestamps.last ?? 0),
                .int8Array(data.timestamps), .float8Array(data.values),
            ])
        }
        guard let row = result.namedRows.first else {
            throw PostgresError(kind: .statement, message: "saving the model returned no row")
        }
        return StoredModel(seriesID: seriesID.rawValue, version: try row.int("version"), model: model, trainedAt: try row.string("trained_at"))
    }

    public func latest(for seriesID: String) throws -> StoredModel? {
        try use { try $0.execute(Statements.latestModel, [.text(seriesID)]) }.namedRows.first.map(Self.storedModel)
    }

    public func model(for seriesID: String, version: Int) throws -> StoredModel? {
        try use { try $0.execute(Statements.modelVersion, [.text(seriesID), .int(Int64(version))]) }.namedRows.first.map(Self.storedModel)
    }

    public func versions(of seriesID: String) throws -> [StoredModel] {
        try use { try $0.execute(Statements.versions, [.text(seriesID)]) }.namedRows.map(Self.storedModel)
    }

    public func listSeries(limit: Int, offset: Int) throws -> (series: [SeriesSummary], total: Int) {
        let (page, count) = try use { connection in
            (try connection.execute(Statements.listSeries, [.int(Int64(limit)), .int(Int64(offset))]),
             try connection.execute(Statements.countSeries, []))
        }
        let summaries = try page.namedRows.map { row in
            SeriesSummary(seriesID: try row.string("series_id"), latest: try Self.storedModel(row), createdAt: try row.string("created_at"))
        }
        return (summaries, try count.namedRows.first?.int("count") ?? 0)
    }

    public func seriesCount() throws -> Int {
        let result = try use { try $0.execute(Statements.countSeries, []) }
        return try result.namedRows.first?.int("count") ?? 0
    }

    public func record(_ statistics: RequestStatistics, writeID: UUID) throws {
        guard !statistics.isEmpty else { return }
        let series = statistics.series.sorted { $0.key < $1.key }
        _ = try use {
            try $0.execute(Statements.recordStatistics, [
                .textArray(series.map(\.key)),
                .int8Array(series.map { Int64($0.value.predictions) }),
                .int8Array(series.map { Int64($0.value.anomalies) }),
                // -1: no anomaly.
                .int8Array(series.map { $0.value.lastAnomalyTimestamp ?? -1 }),
                .text(statistics.kind),
                .int(Int64(statistics.count)),
                .int(Int64(statistics.anomalies)),
                .int8Array(statistics.latency.counts),
                .text(writeID.uuidString),
            ])
        }
    }

    public func ping() throws {
        _ = try use { try $0.execute(Statements.ping, []) }
    }

    public func prunePredictionLog(olderThanHours hours: Int, limit: Int) throws -> Int {
        try use { connection in
            let batches = try connection.execute(Statements.prunePredictionBatches, [.int(Int64(hours)), .int(Int64(limit))]).affectedRows
            // Once per pass, with its last (short) chunk, not with every chunk of a long one.
            if batches < limit { _ = try connection.execute(Statements.pruneRequestMinutes, [.int(Int64(hours))]) }
            return batches
        }
    }

    /// Runs `body` on a pooled connection. When the connection turns out broken, the idle ones are most
    /// likely broken too (a restarted server): they are closed so that only this request pays for it.
    private func use<Result>(_ body: (PostgresConnection) throws -> Result) throws -> Result {
        do {
            return try pool.withConnection(body)
        } catch let error as PostgresError where error.kind == .unavailable {
            pool.drainIdle()
            logger.warning("Postgres unavailable", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// A model from a row with the columns of `model_versions` (and `trained_at` as RFC 3339 text).
    public static func storedModel(_ row: PostgresRow) throws -> StoredModel {
        guard let direction = Direction(rawValue: try row.string("direction")) else {
            throw PostgresError(kind: .statement, message: "unknown direction in model_versions")
        }
        let model = ThreeSigmaModel(
            mean: try row.double("mean"), std: try row.double("std"), threshold: try row.double("threshold"),
            direction: direction, pointsUsed: try row.int("points_used")
        )
        return StoredModel(seriesID: try row.string("series_id"), version: try row.int("version"), model: model, trainedAt: try row.string("trained_at"))
    }
}

/// Every statement the store runs, parameterized, prepared once per connection.
enum Statements {
    /// RFC 3339 in UTC with milliseconds.
    static let trainedAt = #"to_char(m.trained_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS trained_at"#
    static let modelColumns = "m.series_id, m.version, m.mean, m.std, m.threshold, m.direction, m.points_used, \(trainedAt)"

    static let saveModel = PostgresStatement(name: "save_model", sql: """
        WITH next AS (
            INSERT INTO series AS s (series_id, latest_version) VALUES ($1, 1)
            ON CONFLICT (series_id) DO UPDATE SET latest_version = s.latest_version + 1, updated_at = now()
            RETURNING latest_version
        ), m AS (
            INSERT INTO model_versions (series_id, version, mean, std, threshold, direction, points_used, first_timestamp, last_timestamp)
            SELECT $1, latest_version, $2, $3, $4, $5, $6, $7, $8 FROM next
            RETURNING version, trained_at
        ), data AS (
            INSERT INTO training_data (series_id, version, timestamps, "values")
            SELECT $1, latest_version, $9::bigint[], $10::double precision[] FROM next
        )
        SELECT m.version, \(trainedAt) FROM m
        """)

    static let latestModel = PostgresStatement(name: "latest_model", sql: """
        SELECT \(modelColumns) FROM series s JOIN model_versions m ON m.series_id = s.series_id AND m.version = s.latest_version
        WHERE s.series_id = $1
        """)

    static let modelVersion = PostgresStatement(name: "model_version", sql: """
        SELECT \(modelColumns) FROM model_versions m WHERE m.series_id = $1 AND m.version = $2
        """)

    static let versions = PostgresStatement(name: "versions", sql: """
        SELECT \(modelColumns) FROM model_versions m WHERE m.series_id = $1 ORDER BY m.version
        """)

    static let listSeries = PostgresStatement(name: "list_series", sql: """
        SELECT \(modelColumns), to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at
        FROM series s JOIN model_versions m ON m.series_id = s.series_id AND m.version = s.latest_version
        ORDER BY s.series_id LIMIT $1 OFFSET $2
        """)

    static let countSeries = PostgresStatement(name: "count_series", sql: "SELECT count(*) FROM series")

    /// Adds to the series' counts and to the current minute's row of the kind (latency bucket by bucket).
    /// Series are sorted by the caller, so that concurrent writers lock rows in one order.
    /// Adds a write's counts only if its id ($9) is new (migration 7). Ids older than a day are forgotten (a write
    /// is retried within seconds to minutes), a few at a time and skipping rows another write holds, so that
    /// writers never wait on each other for it.
    static let recordStatistics = PostgresStatement(name: "record_statistics", sql: """
        WITH claimed AS (
            INSERT INTO statistics_writes (id) VALUES ($9::uuid) ON CONFLICT (id) DO NOTHING RETURNING id
        ), forgotten AS (
            DELETE FROM statistics_writes WHERE id IN (
                SELECT id FROM statistics_writes WHERE written_at < now() - interval '1 day' LIMIT 100 FOR UPDATE SKIP LOCKED)
        ), counted AS (
            INSERT INTO series_stats AS st (series_id, predictions, anomalies, last_prediction_at, last_anomaly_at, last_anomaly_ts)
            SELECT c.series_id, c.predictions, c.anomalies, now(), CASE WHEN c.anomalies > 0 THEN now() END, NULLIF(c.last_anomaly_ts, -1)
            FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS c (series_id, predictions, anomalies, last_anomaly_ts)
            WHERE EXISTS (SELECT FROM claimed)
            ON CONFLICT (series_id) DO UPDATE SET
                predictions = st.predictions + EXCLUDED.predictions,
                anomalies = st.anomalies + EXCLUDED.anomalies,
                last_prediction_at = EXCLUDED.last_prediction_at,
                last_anomaly_at = coalesce(EXCLUDED.last_anomaly_at, st.last_anomaly_at),
                last_anomaly_ts = coalesce(EXCLUDED.last_anomaly_ts, st.last_anomaly_ts)
        )
        INSERT INTO request_minutes AS r (minute, kind, requests, anomalies, latency_buckets)
        SELECT date_trunc('minute', now()), $5, $6, $7, $8::bigint[] WHERE EXISTS (SELECT FROM claimed)
        ON CONFLICT (minute, kind) DO UPDATE SET
            requests = r.requests + EXCLUDED.requests,
            anomalies = r.anomalies + EXCLUDED.anomalies,
            latency_buckets = (SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i)
                               FROM unnest(r.latency_buckets, EXCLUDED.latency_buckets) WITH ORDINALITY AS t (x, y, i))
        """)

    static let ping = PostgresStatement(name: "ping", sql: "SELECT 1")
    /// The oldest batches first, through the primary key (ids grow with time), at most $2 of them per call, so
    /// that each transaction stays short.
    static let prunePredictionBatches = PostgresStatement(name: "prune_prediction_batches", sql: """
        DELETE FROM prediction_batches WHERE id IN (
            SELECT id FROM prediction_batches WHERE recorded_at < now() - make_interval(hours => $1::integer)
            ORDER BY id LIMIT $2)
        """)

    static let pruneRequestMinutes = PostgresStatement(name: "prune_request_minutes", sql: """
        DELETE FROM request_minutes WHERE minute < now() - make_interval(hours => $1::integer)
        """)
}
