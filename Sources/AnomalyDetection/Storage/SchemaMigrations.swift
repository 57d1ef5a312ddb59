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
        // Postgres received the five arrays element by element and sliced them per row: 283 µs of backend CPU
        // per statement of 300 predictions, every 5 ms, on the machine's shared CPUs. One `bytea` per row in
        // `PredictionLogFormat` is copied as it comes: 93 µs. The table is rebuilt (not altered) so that it
        // is written once, compact; ids, times and counts are kept, and the view reads the new layout. The
        // conversion ran at about a million predictions a second here (30 s for a log of 61,910 batches).
        Migration(version: 6, summary: "prediction log rows hold their predictions as one packed bytea", sql: """
            DROP VIEW predictions;
            ALTER TABLE prediction_batches RENAME TO prediction_batches_arrays;
            ALTER INDEX prediction_batches_pkey RENAME TO prediction_batches_arrays_pkey;
            ALTER INDEX prediction_batches_series_recent RENAME TO prediction_batches_arrays_series_recent;
            ALTER INDEX prediction_batches_recorded_at RENAME TO prediction_batches_arrays_recorded_at;
            CREATE TABLE prediction_batches (
                id            bigint PRIMARY KEY DEFAULT nextval('prediction_batches_id_seq'),
                series_id     text NOT NULL,
                version       integer NOT NULL,
                recorded_at   timestamptz NOT NULL DEFAULT now(),
                count         integer NOT NULL,
                anomaly_count integer NOT NULL,
                -- count * 29 bytes. Not a CHECK: Postgres parses a table's CHECK expressions again for every
                -- INSERT statement, 5-10 µs of the 55 µs a one-row statement costs it.
                records       bytea NOT NULL
            ) WITH (toast_tuple_target = 8160);
            -- As migrations 2 and 5 set them for the arrays, before any row is written: a row of 250 predictions
            -- (7.3 kB) stays in its heap page uncompressed, and ANALYZE skips the bytes.
            ALTER TABLE prediction_batches ALTER COLUMN records SET STORAGE EXTERNAL, ALTER COLUMN records SET STATISTICS 0;
            ALTER SEQUENCE prediction_batches_id_seq OWNED BY prediction_batches.id;
            INSERT INTO prediction_batches (id, series_id, version, recorded_at, count, anomaly_count, records)
                SELECT b.id, b.series_id, b.version, b.recorded_at, b.count, b.anomaly_count,
                       (SELECT string_agg(int8send(p.ts) || float8send(p.value) || boolsend(p.anomaly) || float8send(p.z_score)
                                          || float4send(p.latency_us), ''::bytea ORDER BY p.n)
                        FROM unnest(b.ts, b."values", b.anomalies, b.z_scores, b.latency_us) WITH ORDINALITY
                             AS p (ts, value, anomaly, z_score, latency_us, n))
                FROM prediction_batches_arrays b;
            DROP TABLE prediction_batches_arrays;
            -- As migration 4 set it: the time index summarizes as it grows.
            CREATE INDEX prediction_batches_series_recent ON prediction_batches (series_id, id DESC);
            CREATE INDEX prediction_batches_recorded_at ON prediction_batches USING brin (recorded_at) WITH (autosummarize = on);
            -- Decoders for the view: Postgres's binary receive functions cannot be called from SQL, so the
            -- IEEE 754 fields are rebuilt from their bits (exactly: an integer of at most 53 bits times a power
            -- of two), subnormals, zeros, infinities and NaN included.
            CREATE FUNCTION prediction_log_int8(bytes bytea, at integer) RETURNS bigint
                LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                RETURN ('x' || encode(substring(bytes FROM at + 1 FOR 8), 'hex'))::bit(64)::bigint;
            CREATE FUNCTION prediction_log_float8(bits bigint) RETURNS double precision
                LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                RETURN CASE
                    WHEN (bits >> 52) & 2047 = 2047 THEN
                        CASE WHEN bits & 4503599627370495 <> 0 THEN 'NaN' WHEN bits < 0 THEN '-Infinity' ELSE 'Infinity' END::double precision
                    ELSE CASE WHEN bits < 0 THEN -1 ELSE 1 END
                         * ((bits & 4503599627370495) + CASE WHEN (bits >> 52) & 2047 = 0 THEN 0 ELSE 4503599627370496 END)::double precision
                         * 2::double precision ^ (greatest((bits >> 52) & 2047, 1) - 1075)
                END;
            CREATE FUNCTION prediction_log_float4(bits integer) RETURNS real
                LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                RETURN CASE
                    WHEN (bits >> 23) & 255 = 255 THEN
                        CASE WHEN bits & 8388607 <> 0 THEN 'NaN' WHEN bits < 0 THEN '-Infinity' ELSE 'Infinity' END::real
                    ELSE (CASE WHEN bits < 0 THEN -1 ELSE 1 END
                          * ((bits & 8388607) + CASE WHEN (bits >> 23) & 255 = 0 THEN 0 ELSE 8388608 END)::double precision
                          * 2::double precision ^ (greatest((bits >> 23) & 255, 1) - 150))::real
                END;
            -- One row per prediction, for people and scripts, with the columns it had before.
            CREATE VIEW predictions AS
                SELECT b.id AS batch_id, b.series_id, b.version,
                       prediction_log_int8(b.records, r.at) AS ts,
                       prediction_log_float8(prediction_log_int8(b.records, r.at + 8)) AS value,
                       get_byte(b.records, r.at + 16) <> 0 AS anomaly,
                       prediction_log_float8(prediction_log_int8(b.records, r.at + 17)) AS z_score,
                       prediction_log_float4(('x' || encode(substring(b.records FROM r.at + 26 FOR 4), 'hex'))::bit(32)::integer) AS latency_us,
                       b.recorded_at
                FROM prediction_batches b, generate_series(0, b.count - 1) AS n, LATERAL (SELECT n * 29 AS at) AS r;
            """),
        // Each write of request statistics carries an id of the writer's choosing and adds its counts only the
        // first time: a write whose answer was lost after Postgres committed it is sent again with the same id.
        Migration(version: 7, summary: "request statistics writes applied once, by id", sql: """
            CREATE TABLE statistics_writes (
                id         uuid PRIMARY KEY,
                written_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX statistics_writes_written_at ON statistics_writes (written_at);
            """),
    ]

    /// Applies what is missing.
    /// - Parameters:
    ///   - migrations: the migrations to bring the schema to.
    ///   - willApply: called before each migration this call applies (one may take minutes on a large table).
    /// - Returns: the versions applied by this call (empty when the schema was current).
    /// - Throws: `PostgresError`.
    @discardableResult
    public static func apply(on connection: PostgresConnection, migrations: [Migration] = all, willApply: (Migration) -> Void = { _ in }) throws -> [Int] {
        try connection.transaction { connection in
            // Any constant works as long as every service uses the same one. Another process may hold it for a
            // long migration: waiting is bounded, so that this one goes on starting (and retries) meanwhile.
            try connection.execute("SET LOCAL lock_timeout = '2s'")
            try connection.execute("SELECT pg_advisory_xact_lock(7334221)")
            try connection.execute("SET LOCAL lock_timeout = 0")
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
                willApply(migration)
                try connection.execute(migration.sql)
                try connection.execute("INSERT INTO schema_migrations (version, summary) VALUES ($1, $2)", [.int(Int64(migration.version)), .text(migration.summary)])
                appliedNow.append(migration.version)
            }
            return appliedNow
        }
    }
}
