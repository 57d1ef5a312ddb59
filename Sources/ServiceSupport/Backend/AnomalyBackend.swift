import AnomalyDetection
import Foundation
import Logging
import Synchronization

/// Everything behind the routes of one service process: Postgres, Redis, the caches, the prediction log,
/// latency figures and metrics. Built once at start-up; its parts run their own threads.
public final class AnomalyBackend: Sendable {
    public let service: String
    public let configuration: BackendConfiguration
    public let store: PostgresModelStore
    public let redis: RedisClient
    public let cache: RedisModelCache
    public let tracker: LatestVersionTracker
    public let resolver: ModelResolver
    public let recorder: PredictionRecorder
    /// Deletes predictions older than `PREDICTION_LOG_RETENTION_HOURS` in the process that prunes the log (the
    /// inference service); nil elsewhere and when they are kept forever.
    public let retention: PredictionLogRetention?
    /// Fits added up per minute for the dashboard (predictions are added up by the recorder).
    public let fitStatistics: StatisticsWriter
    public let latency: LatencyStatistics
    public let metrics: ServiceMetrics
    public let startedAt = ContinuousClock.now
    public let logger: Logger
    /// Fits committed in Postgres whose Redis publication failed; retried until Redis takes them.
    private let unpublished = Mutex<[StoredModel]>([])
    private let stopped = Atomic<Bool>(false)
    /// The last series count Postgres gave (-1: none yet).
    private let lastSeriesCount = Atomic<Int>(-1)

    /// Set once the schema is current; until then `/readyz` says not ready.
    private let migrated = Atomic<Bool>(false)
    /// The migration is retried every half second while Postgres is down: logged every 5 s.
    private let migrationWarnings = Mutex(WarningThrottle())

    /// Builds the parts and starts their threads. The schema is migrated on a thread of its own as soon as
    /// Postgres answers, waited for here up to `startupWaitSeconds`: a service started before its database, or
    /// during a long migration, serves (not ready) and comes up on its own.
    /// - Parameter prunesPredictionLog: whether this process keeps the prediction log to its retention window.
    ///   One service does (the one that writes the log); the others would only race its deletes.
    public init(service: String, configuration: BackendConfiguration, metrics: ServiceMetrics, logger: Logger, prunesPredictionLog: Bool = false) {
        self.service = service
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        var storeConfiguration = PostgresModelStore.Configuration(connectionString: configuration.databaseURL)
        storeConfiguration.poolSize = configuration.databasePoolSize
        store = PostgresModelStore(configuration: storeConfiguration, logger: logger)
        var redisConfiguration = RedisClient.Configuration(endpoint: configuration.redis)
        redisConfiguration.poolSize = max(4, configuration.databasePoolSize)
        redis = RedisClient(configuration: redisConfiguration)
        cache = RedisModelCache(redis: redis)
        tracker = LatestVersionTracker(endpoint: configuration.redis, logger: logger)
        resolver = ModelResolver(store: store, cache: cache, tracker: tracker, logger: logger)
        // The prediction log has a connection of its own.
        var logConfiguration = storeConfiguration
        logConfiguration.poolSize = 1
        // Set, not assumed: a DATABASE_URL `options`, a role's or the server's setting could turn it off, and a
        // record counted as written could then be lost in a Postgres crash. The statistics store shares it.
        logConfiguration.sessionSettings.append("synchronous_commit = on")
        recorder = PredictionRecorder(
            log: PostgresPredictionLog(configuration: logConfiguration),
            statisticsStore: PostgresModelStore(configuration: logConfiguration, logger: logger),
            logger: logger
        )
        if configuration.predictionRetentionHours > 0 && prunesPredictionLog {
            var retentionConfiguration = PredictionLogRetention.Configuration(hours: configuration.predictionRetentionHours)
            retentionConfiguration.interval = configuration.predictionPruneInterval
            retention = PredictionLogRetention(store: store, configuration: retentionConfiguration, logger: logger)
        } else {
            retention = nil
        }
        fitStatistics = StatisticsWriter(kind: "fit", store: store, logger: logger)
        latency = LatencyStatistics(service: service)

        migrate(waitingUpTo: configuration.startupWaitSeconds)
        tracker.start()
        recorder.start()
        retention?.start()
        fitStatistics.start()
        latency.startPublishing(to: redis, logger: logger)
        startRepublishing()
    }

    /// Writes the prediction log out and stops the background threads.
    public func shutdown(deadline: ContinuousClock.Instant) {
        stopped.store(true, ordering: .relaxed)
        retention?.stop()
        fitStatistics.stop()
        recorder.flush(deadline: deadline)
        fitStatistics.flush(deadline: deadline)
        if ContinuousClock.now < deadline { try? latency.publish(to: redis) }
        latency.stop()
        tracker.stop()
    }

    /// Publishes a committed fit to Redis; when Redis cannot take it, keeps it for the republisher instead of
    /// failing the fit (Postgres, the source of truth, already has it).
    ///
    /// Read-your-writes holds either way:
    /// - Redis refusing the write (out of memory, `MISCONF`) still lets the announcement out, and inference
    ///   reads the new version from Postgres.
    /// - Redis answering with another error (`-LOADING` after a restart) answers inference's PINGs the same way,
    ///   so inference stops trusting its memory within `distrustAfter`: the fit waits that long.
    /// - A Redis that does not answer in time (hung, unreachable) has silenced the subscription too, and one
    ///   that refuses connections has closed it; inference then reads every latest version from Postgres.
    /// - A Redis pool in training that stays busy is passed by a connection of the announcement's own.
    /// Left out: a partition between training and Redis alone.
    /// - Returns: whether Redis took it now.
    @discardableResult
    public func publish(_ model: StoredModel) -> Bool {
        let problem: String
        do {
            try cache.store(model, isLatest: true, announce: true)
            return true
        } catch let error as RedisModelCache.NotStored {
            problem = "fit committed and announced, but \(error)"
        } catch let error as RedisError where error.kind == .reply {
            Thread.sleep(forTimeInterval: tracker.distrustAfter.inSeconds)
            problem = "fit committed but not announced: Redis answered \(error)"
        } catch {
            problem = "fit committed but not published to Redis: \(error)"
        }
        logger.warning("\(problem); will retry", metadata: ["series_id": "\(model.seriesID)", "version": "\(model.version)"])
        unpublished.withLock { $0.append(model) }
        return false
    }

    /// The number of trained series: counted in Postgres when asked to and it answers, else the last count
    /// (nil before the first), so that health keeps the contract's field through an outage.
    public func seriesTrained(askingPostgres: Bool) -> Int? {
        if askingPostgres, let count = try? store.seriesCount() {
            lastSeriesCount.store(count, ordering: .relaxed)
            return count
        }
        let last = lastSeriesCount.load(ordering: .relaxed)
        return last >= 0 ? last : nil
    }

    /// How many committed fits still wait for Redis.
    public var unpublishedCount: Int { unpublished.withLock { $0.count } }

    private func startRepublishing() {
        BackgroundThread.start(name: "fit-republisher") { [self] in
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.25)
                // The list stays as it is while they are retried, so that health keeps counting them; only
                // this thread removes, and only from the front, what Redis took.
                let waiting = unpublished.withLock { $0 }
                var stored = 0
                for model in waiting {
                    guard (try? cache.store(model, isLatest: true, announce: true)) != nil else { break }
                    stored += 1
                }
                if stored > 0 { unpublished.withLock { $0.removeFirst(stored) } }
            }
        }
    }

    /// Whether the schema has been created or migrated by this process.
    public var isMigrated: Bool { migrated.load(ordering: .relaxed) }

    /// Migrates on a thread of its own, retrying until it succeeds, and waits for it up to `seconds`: a service
    /// whose Postgres is not up yet, or whose migration rewrites a large table, goes on starting (alive, not
    /// ready) instead of waiting in start-up.
    private func migrate(waitingUpTo seconds: Int) {
        let finished = DispatchSemaphore(value: 0)
        BackgroundThread.start(name: "migrator") { [self] in
            while !stopped.load(ordering: .relaxed) && !tryMigrating() {
                Thread.sleep(forTimeInterval: 0.5)
            }
            finished.signal()
        }
        if finished.wait(timeout: .now() + .seconds(seconds)) == .timedOut {
            logger.warning("schema not migrated yet (Postgres unreachable, or a migration still running); serving, not ready until it is")
        }
    }

    private func tryMigrating() -> Bool {
        do {
            let applied = try store.migrate { migration in
                logger.info("applying a schema migration", metadata: ["version": "\(migration.version)", "summary": "\(migration.summary)"])
            }
            if !applied.isEmpty { logger.info("schema migrated", metadata: ["applied": "\(applied)"]) }
            migrated.store(true, ordering: .relaxed)
            return true
        } catch {
            if let repeats = migrationWarnings.withLock({ $0.admit() }) {
                logger.warning("cannot migrate the schema yet", metadata: ["error": "\(error)", "repeats_not_logged": "\(repeats)"])
            }
            return false
        }
    }
}
