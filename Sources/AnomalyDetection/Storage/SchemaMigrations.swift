/// The database schema, as numbered migrations applied once each, in order, at start-up.
/// Every service runs them; a transaction-scoped advisory lock makes concurrent start-ups take turns,
/// and the `schema_migrations` table makes a second run a no-op.
public enum SchemaMigrations {
    public struct Migration: Sendable {
        public let version: Int
        public let summary: String
        public let sql: String
    }

    /// Never edit a migration that has shipped; append a new one.
    public static let all: [Migration] = [
        Migration(version: 1, summary: "series, model versions, training data, predictions", sql: """
            CREATE TABLE series (
                series_id      text PRIMARY KEY,
                latest_version integer NOT NULL CHECK (latest_version >= 1),
                created_at     timestamptz NOT NULL DEFAULT now(),
                updated_at     timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE model_versions (
                series_id       text NOT NULL REFERENCES series (series_id),
                version         integer NOT NULL CHECK (version >= 1),
                mean            double precision NOT NULL,
                std             double precision NOT NULL CHECK (std > 0),
                threshold       double precision NOT NULL CHECK (threshold > 0),
                direction       text NOT NULL CHECK (direction IN ('both', 'upper', 'lower')),
                points_used     integer NOT NULL,
                first_timestamp bigint NOT NULL,
                last_timestamp  bigint NOT NULL,
                trained_at      timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (series_id, version)
            );
            CREATE TABLE training_data (
                series_id  text NOT NULL,
                version    integer NOT NULL,
                timestamps bigint[] NOT NULL,
                "values"   double precision[] NOT NULL,
                PRIMARY KEY (series_id, version),
                FOREIGN KEY (series_id, version) REFERENCES model_versions (series_id, version)
            );
            ALTER TABLE training_data ALTER COLUMN timestamps SET STORAGE EXTERNAL;
            ALTER TABLE training_data ALTER COLUMN "values" SET STORAGE EXTERNAL;
            -- The prediction log, one row per series and version per flush of the writer (arrays, not a row per
            -- prediction): at tens of thousands of predictions a second, Postgres then does a few hundred row
            -- inserts instead of tens of thousands, and shares the machine's CPUs far less with the services.
            CREATE TABLE prediction_batches (
                id            bigserial PRIMARY KEY,
                series_id     text NOT NULL,
                version       integer NOT NULL,
                recorded_at   timestamptz NOT NULL DEFAULT now(),
                count         integer NOT NULL,
                anomaly_count integer NOT NULL,
                ts            bigint[] NOT NULL,
                "values"      double precision[] NOT NULL,
                anomalies     boolean[] NOT NULL,
                z_scores      double precision[] NOT NULL,
                latency_us    real[] NOT NULL
            );
            CREATE INDEX prediction_batches_series_recent ON prediction_batches (series_id, id DESC);
            -- BRIN: time-ordered inserts keep it tiny and nearly free to maintain.
            CREATE INDEX prediction_batches_recorded_at ON prediction_batches USING brin (recorded_at);
            -- One row per prediction, for people and scripts.
            CREATE VIEW predictions AS
                SELECT b.id AS batch_id, b.series_id, b.version, p.ts, p.value, p.anomaly, p.z_score, p.latency_us, b.recorded_at
                FROM prediction_batches b,
                     unnest(b.ts, b."values", b.anomalies, b.z_scores, b.latency_us) AS p (ts, value, anomaly, z_score, latency_us);
            """),
        // Measured at 50k predictions/s: with the arrays compressed (the default) Postgres spent 0.34 s of CPU
        // per 5 s of prediction log, on the same CPUs as the services; uncompressed, about 0.15 s. A row of up
        // to 250 predictions (about 7.3 kB) stays in its heap page instead of being cut into TOAST chunks.
        Migration(version: 2, summary: "prediction log arrays stored uncompressed and inline", sql: """
            ALTER TABLE prediction_batches SET (toast_tuple_target = 8160);
            ALTER TABLE prediction_batches
                ALTER COLUMN ts SET STORAGE EXTERNAL,
                ALTER COLUMN "values" SET STORAGE EXTERNAL,
                ALTER COLUMN anomalies SET STORAGE EXTERNAL,
                ALTER COLUMN z_scores SET STORAGE EXTERNAL,
                ALTER COLUMN latency_us SET STORAGE EXTERNAL;
            """),
        // What the dashboard shows, kept up to date by the writers so that no page sums the log.
        Migration(version: 3, summary: "per-series prediction counts and per-minute request statistics", sql: """
            CREATE TABLE series_stats (
                series_id          text PRIMARY KEY,
                predictions        bigint NOT NULL DEFAULT 0,
                anomalies          bigint NOT NULL DEFAULT 0,
                last_prediction_at timestamptz,
                last_anomaly_at    timestamptz,
                last_anomaly_ts    bigint
            );
            INSERT INTO series_stats (series_id, predictions, anomalies, last_prediction_at)
                SELECT series_id, sum(count), sum(anomaly_count), max(recorded_at) FROM prediction_batches GROUP BY series_id;
            -- One row per minute and kind ('predict', 'fit'); latency_buckets as LatencyBuckets counts them.
            CREATE TABLE request_minutes (
                minute          timestamptz NOT NULL,
                kind            text NOT NULL,
                requests        bigint NOT NULL,
                anomalies       bigint NOT NULL,
                latency_buckets bigint[] NOT NULL,
                PRIMARY KEY (minute, kind)
            );
            CREATE INDEX model_versions_trained_at ON model_versions (trained_at);
            """),
        // The retention's search for expired batches goes through the BRIN index, which only skips page ranges
        // it has summarized; by default that waits for a VACUUM, so every range written since would be read
        // (87 ms on 500,000 fresh batches, against 0.3 ms summarized). Autosummarize asks autovacuum to summarize
        // each range as soon as inserts move past it.
        Migration(version: 4, summary: "prediction log time index summarized as it grows", sql: """
            ALTER INDEX prediction_batches_recorded_at SET (autosummarize = on);
            """),
        // No query filters on the log's arrays, but (auto)ANALYZE gathered element statistics for all five,
        // comparing and hashing every sampled element: 2.7 s of CPU per ANALYZE at 290,000 batches, run again
        // after every 10% of growth, and on this machine's two CPUs it landed beside the event loops (6.5% of
        // the loop's CPU in one 5-second profile). Without them: 0.31 s. The same for the training data's
        // arrays, read only by primary key (0.48 s per ANALYZE at 5,120 small fits; a 1M-point fit is 2M elements).
        Migration(version: 5, summary: "no planner statistics for the arrays of the prediction log and the training data", sql: """
            ALTER TABLE prediction_batches
                ALTER COLUMN ts SET STATISTICS 0,
                ALTER COLUMN "values" SET STATISTICS 0,
                ALTER COLUMN anomalies SET STATISTICS 0,
                ALTER COLUMN z_scores SET STATISTICS 0,
                ALTER COLUMN latency_us SET STATISTICS 0;
            ALTER TABLE training_data
                ALTER COLUMN timestamps SET STATISTICS 0,
                ALTER COLUMN "values" SET STATISTICS 0;
            """),
    ]

    /// Applies what is missing.
    /// - Returns: the versions applied by this call (empty when the schema was current).
    /// - Throws: `PostgresError`.
    @discardableResult
    public static func apply(on connection: PostgresConnection, migrations: [Migration] = all) throws -> [Int] {
        try connection.transaction { connection in
            // Any constant works as long as every service uses the same one.
            try connection.execute("SELECT pg_advisory_xact_lock(7334221)")
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    summary    text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            let applied = Set(try connection.execute("SELECT version FROM schema_migrations").rows.compactMap { $0[0].flatMap { Int($0) } })
            var appliedNow: [Int] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
                try connection.execute(migration.sql)
                try connection.execute("INSERT INTO schema_migrations (version, summary) VALUES ($1, $2)", [.int(Int64(migration.version)), .text(migration.summary)])
                appliedNow.append(migration.version)
            }
            return appliedNow
        }
    }
}
