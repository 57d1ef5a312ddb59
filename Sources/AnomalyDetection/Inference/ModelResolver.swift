import Logging
import Synchronization

/// Finds the model a prediction uses: from memory when it can (no I/O), else Redis, else Postgres, keeping
/// each copy filled from the one below. Model versions never change once committed, so their parameters are
/// cached in memory without expiry; which version is the latest comes from `LatestVersionTracker`, once
/// confirmed by one Postgres read per series (per subscription).
///
/// Memory holds at most `versionsPerSeries` versions of a series: a series retrained every few seconds for
/// months must not grow the process. Past that, the version used least recently goes, never the newest: a
/// version pinned by `?version=` and asked for again and again stays in memory like the latest.
public final class ModelResolver: Sendable {
    /// The versions of one series held in memory, newest first, and when each was last used.
    struct SeriesModels {
        private(set) var models: [StoredModel] = []
        /// For each of `models`: this series' use counter when it was last added, used as a pinned version,
        /// or replaced as the newest. The newest needs none: it is never evicted.
        private var lastUsed: [UInt64] = []
        private var uses: UInt64 = 0

        /// The newest version held.
        var newest: StoredModel? { models.first }

        func model(version: Int) -> StoredModel? {
            models.first { $0.version == version }
        }

        /// Marks a version other than the newest as used. Kept apart from `model(version:)`, so that the latest
        /// (every unpinned predict) costs a lookup and no write.
        mutating func markUsed(version: Int) {
            for index in models.indices.dropFirst() where models[index].version == version {
                uses += 1
                lastUsed[index] = uses
                return
            }
        }

        /// Adds a version; past `capacity`, the least recently used one other than the newest and the one
        /// added goes. Returns the change in the count held.
        mutating func insert(_ model: StoredModel, capacity: Int) -> Int {
            precondition(capacity >= 2, "room for the newest and one more")
            guard self.model(version: model.version) == nil else { return 0 }
            uses += 1
            let position = models.firstIndex { $0.version < model.version } ?? models.endIndex
            // A newest version replaced was in use until now.
            if position == 0 && !models.isEmpty { lastUsed[0] = uses }
            models.insert(model, at: position)
            lastUsed.insert(uses, at: position)
            guard models.count > capacity else { return 1 }
            var victim = -1
            for index in models.indices.dropFirst() where index != position && (victim < 0 || lastUsed[index] < lastUsed[victim]) {
                victim = index
            }
            guard victim > 0 else { return 1 }
            models.remove(at: victim)
            lastUsed.remove(at: victim)
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
        return held(seriesID, version: number, pinned: version != nil).map(MemoryAnswer.found) ?? .unknown
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

    /// A version held in memory. A pinned one is marked as used, which keeps it from eviction; the latest is
    /// only looked up (no write on the path of every unpinned predict).
    private func held(_ seriesID: String, version: Int, pinned: Bool) -> StoredModel? {
        models.withLock { held in
            guard let model = held.bySeries[seriesID]?.model(version: version) else { return nil }
            if pinned { held.bySeries[seriesID]?.markUsed(version: version) }
            return model
        }
    }

    /// The newest version of a series held in memory, whether or not it is known to be the latest.
    func newestInMemory(_ seriesID: String) -> StoredModel? {
        models.withLock { $0.bySeries[seriesID]?.newest }
    }

    /// How many model versions are held in memory.
    public var cachedCount: Int { models.withLock { $0.count } }

    private func pinned(seriesID: String, version: Int) throws -> (model: StoredModel, source: Source)? {
        if let model = held(seriesID, version: version, pinned: true) { return (model, .memory) }
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
