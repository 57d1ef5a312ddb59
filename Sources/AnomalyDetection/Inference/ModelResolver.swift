import Logging
import Synchronization

/// Finds the model a prediction uses: from memory when it can (no I/O), else Redis, else Postgres, keeping
/// each copy filled from the one below. Model versions never change once committed, so their parameters are
/// cached in memory without expiry; which version is the latest comes from `LatestVersionTracker`, once
/// confirmed by one Postgres read per series (per subscription).
///
/// Memory holds at most `versionsPerSeries` versions of a series: a series retrained every few seconds for
/// months must not grow the process. The newest versions stay; an older one pinned by `?version=` comes back
/// from Redis when it is asked for again.
public final class ModelResolver: Sendable {
    /// The versions of one series held in memory, newest first.
    struct SeriesModels {
        private(set) var models: [StoredModel] = []

        func model(version: Int) -> StoredModel? {
            models.first { $0.version == version }
        }

        /// Adds a version; past `capacity`, the oldest version goes. Returns the change in the count held.
        mutating func insert(_ model: StoredModel, capacity: Int) -> Int {
            guard self.model(version: model.version) == nil else { return 0 }
            let index = models.firstIndex { $0.version < model.version } ?? models.endIndex
            models.insert(model, at: index)
            guard models.count > capacity else { return 1 }
            models.removeLast()
            return 0
        }
    }

    /// Versions of one series kept in memory.
    public static let versionsPerSeries = 4

    private let store: any ModelStore
    private let cache: RedisModelCache?
    private let tracker: LatestVersionTracker?
    private let logger: Logger
    private let models = Mutex<(bySeries: [String: SeriesModels], count: Int)>(([:], 0))

    /// Where each answer came from, for metrics.
    public enum Source: Sendable {
        case memory, redis, postgres
    }

    public init(store: any ModelStore, cache: RedisModelCache?, tracker: LatestVersionTracker?, logger: Logger) {
        self.store = store
        self.cache = cache
        self.tracker = tracker
        self.logger = logger
    }

    /// What memory alone can say.
    public enum MemoryAnswer: Sendable {
        case found(StoredModel)
        /// The series has no model (a read said so and nothing was announced since).
        case missing
        /// Finding out needs I/O.
        case unknown
    }

    /// The model from memory only.
    /// - Parameters:
    ///   - version: a pinned version, or nil for the latest.
    ///   - receivedAt: when the request was received (`CLOCK_MONOTONIC` ns), 0 when unknown; see `LatestVersionTracker`.
    public func fromMemory(seriesID: String, version: Int?, receivedAt: UInt64 = 0) -> MemoryAnswer {
        let number: Int
        if let version {
            number = version
        } else {
            switch tracker?.knowledge(of: seriesID, receivedAt: receivedAt) ?? .unknown {
            case .latest(let latest): number = latest
            case .missing: return .missing
            case .unknown: return .unknown
            }
        }
        return models.withLock { $0.bySeries[seriesID]?.model(version: number) }.map(MemoryAnswer.found) ?? .unknown
    }

    /// Takes in the latest-version announcements received so far: call it after reading requests and before
    /// answering them, and `fromMemory(seriesID:version:receivedAt:)` need not read the subscription per request.
    public func takeAnnouncements() {
        tracker?.takeAnnouncements()
    }

    /// The model from memory only: nil when finding it needs I/O (or the series is known to have none).
    public func cachedModel(seriesID: String, version: Int?) -> StoredModel? {
        if case .found(let model) = fromMemory(seriesID: seriesID, version: version) { return model }
        return nil
    }

    /// The model, reading Redis and then Postgres when memory does not have it.
    /// - Returns: the model and where it came from, or nil when the series or version does not exist.
    /// - Throws: `PostgresError` when Postgres had to be asked and could not answer.
    public func model(seriesID: String, version: Int?) throws -> (model: StoredModel, source: Source)? {
        if let model = cachedModel(seriesID: seriesID, version: version) { return (model, .memory) }
        if let version { return try pinned(seriesID: seriesID, version: version) }

        // Which version is the latest is confirmed in Postgres, never in Redis: after an outage Redis may
        // still hold a pointer older than a fit that was acknowledged meanwhile.
        let epoch = tracker?.currentEpoch()
        let latest: StoredModel?
        do {
            latest = try store.latest(for: seriesID)
        } catch {
            // Postgres is down: Redis's pointer is the best there is; served, but not kept as confirmed.
            if let cache, let model = try? cache.latest(for: seriesID) {
                remember(model)
                return (model, .redis)
            }
            // Redis cannot say either (down, or too slow on a starved machine): the newest version held in
            // memory rather than no answer. No fit can be acknowledged while Postgres is down, so this is stale
            // only by a fit acknowledged while the subscription was already lost; the answer names its version.
            if let model = newestInMemory(seriesID) {
                logger.debug("Postgres and Redis unavailable; answering with the newest version in memory", metadata: ["series_id": "\(seriesID)", "version": "\(model.version)"])
                return (model, .memory)
            }
            throw error
        }
        guard let model = latest else {
            if let epoch { tracker?.confirmMissing(seriesID, epoch: epoch) }
            return nil
        }
        remember(model)
        try? cache?.store(model, isLatest: true, announce: false)
        if let epoch, let tracker {
            let newest = tracker.confirm(seriesID, version: model.version, epoch: epoch)
            if newest > model.version { return try pinned(seriesID: seriesID, version: newest) }
        }
        return (model, .postgres)
    }

    /// Keeps a model in memory, e.g. the one this process just fitted.
    public func remember(_ model: StoredModel) {
        models.withLock { held in
            held.count += held.bySeries[model.seriesID, default: SeriesModels()].insert(model, capacity: Self.versionsPerSeries)
        }
    }

    /// The newest version of a series held in memory, whether or not it is known to be the latest.
    func newestInMemory(_ seriesID: String) -> StoredModel? {
        models.withLock { $0.bySeries[seriesID]?.models.first }
    }

    /// How many model versions are held in memory.
    public var cachedCount: Int { models.withLock { $0.count } }

    private func pinned(seriesID: String, version: Int) throws -> (model: StoredModel, source: Source)? {
        if let model = models.withLock({ $0.bySeries[seriesID]?.model(version: version) }) { return (model, .memory) }
        if let cache, let model = try? cache.model(for: seriesID, version: version) {
            remember(model)
            return (model, .redis)
        }
        guard let model = try store.model(for: seriesID, version: version) else { return nil }
        remember(model)
        try? cache?.store(model, isLatest: false, announce: false)
        return (model, .postgres)
    }
}
