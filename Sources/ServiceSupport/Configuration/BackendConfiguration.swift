import AnomalyDetection

/// Where Postgres and Redis are and how the model layer behaves, read once at start-up.
public struct BackendConfiguration: Sendable {
    /// `DATABASE_URL`.
    public var databaseURL: String
    /// `DB_POOL_SIZE`: Postgres connections per process.
    public var databasePoolSize: Int
    /// `REDIS_URL`, or `REDIS_HOST`/`REDIS_PORT`.
    public var redis: RedisEndpoint
    /// `MIN_TRAINING_POINTS`: fewer points than this is a 422.
    public var minimumTrainingPoints: Int
    /// `ENVIRONMENT`: development, test or production (shown in health; production logs less).
    public var environment: String
    /// `PREDICTION_LOG`: whether predictions are recorded in Postgres for the dashboard (on by default).
    public var recordPredictions: Bool = true
    /// `PREDICTION_LOG_RETENTION_HOURS`: how long the prediction log keeps a prediction (7 days by default;
    /// 0 keeps everything). Per-series totals are kept regardless.
    public var predictionRetentionHours: Int = Self.defaultPredictionRetentionHours
    /// `PREDICTION_LOG_PRUNE_INTERVAL_SECONDS`: how often expired predictions are deleted.
    public var predictionPruneInterval: Duration = .seconds(60)
    /// `DB_STARTUP_WAIT_SECONDS`: how long a service waits at start-up for the schema migration (Postgres down,
    /// or a migration rewriting a large table) before it starts serving anyway, not ready until it is done.
    public var startupWaitSeconds: Int

    public static let defaultPredictionRetentionHours = 168
    public static let defaultDatabaseURL = "postgresql://postgres@127.0.0.1:15432/postgres"
    /// The project-local Redis that `make start` runs.
    public static let defaultRedis = RedisEndpoint(host: "127.0.0.1", port: 16379)
}

extension ServiceEnvironment {
    /// The backend configuration from `DATABASE_URL`, `REDIS_URL` (or `REDIS_HOST`/`REDIS_PORT`), `DB_POOL_SIZE`,
    /// `MIN_TRAINING_POINTS`, `ENVIRONMENT`, `DB_STARTUP_WAIT_SECONDS`, `PREDICTION_LOG` and its retention.
    /// - Throws: `ConfigurationError` naming the variable.
    public func backendConfiguration() throws -> BackendConfiguration {
        let databaseURL = self["DATABASE_URL"] ?? BackendConfiguration.defaultDatabaseURL
        do {
            _ = try PostgresClientLibrary.parseConnectionString(databaseURL)
        } catch {
            throw ConfigurationError(variable: "DATABASE_URL", value: Self.redacted(databaseURL), expected: "a postgresql:// URL or key=value pairs (\(error))")
        }
        let redis: RedisEndpoint
        if let url = self["REDIS_URL"] {
            guard let endpoint = RedisEndpoint(url: url) else {
                throw ConfigurationError(variable: "REDIS_URL", value: Self.redacted(url), expected: "redis://[[user]:password@]host[:port][/db]")
            }
            redis = endpoint
        } else {
            let host = self["REDIS_HOST"] ?? BackendConfiguration.defaultRedis.host
            guard RedisEndpoint.isHost(host) else {
                throw ConfigurationError(variable: "REDIS_HOST", value: host, expected: "a host name or IP address alone (the port goes in REDIS_PORT; a redis:// URL in REDIS_URL)")
            }
            redis = RedisEndpoint(
                host: host,
                port: try integer("REDIS_PORT", default: BackendConfiguration.defaultRedis.port, in: 1...65_535)
            )
        }
        let environment = self["ENVIRONMENT"] ?? "development"
        guard ["development", "test", "production"].contains(environment) else {
            throw ConfigurationError(variable: "ENVIRONMENT", value: environment, expected: "development, test or production")
        }
        let predictionLog = self["PREDICTION_LOG"] ?? "on"
        guard ["on", "off"].contains(predictionLog) else {
            throw ConfigurationError(variable: "PREDICTION_LOG", value: predictionLog, expected: "on or off")
        }
        var configuration = BackendConfiguration(
            databaseURL: databaseURL,
            databasePoolSize: try integer("DB_POOL_SIZE", default: 8, in: 1...512),
            redis: redis,
            minimumTrainingPoints: try integer("MIN_TRAINING_POINTS", default: 3, in: 2...100_000_000),
            environment: environment,
            startupWaitSeconds: try integer("DB_STARTUP_WAIT_SECONDS", default: 5, in: 0...3_600)
        )
        configuration.recordPredictions = predictionLog == "on"
        configuration.predictionRetentionHours = try integer("PREDICTION_LOG_RETENTION_HOURS", default: BackendConfiguration.defaultPredictionRetentionHours, in: 0...87_600)
        configuration.predictionPruneInterval = try seconds("PREDICTION_LOG_PRUNE_INTERVAL_SECONDS", default: .seconds(60))
        return configuration
    }

    /// A URL with its password replaced, for messages and logs.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].lastIndex(of: "@") else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
