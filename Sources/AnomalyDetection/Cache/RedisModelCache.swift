import Foundation

/// Model parameters in Redis, shared by every process: each (series, version) under its own key, the
/// latest version per series (only ever raised), and a channel announcing each new version.
public struct RedisModelCache: Sendable {
    /// The channel `ModelUpdateSubscription` listens to.
    public static let updatesChannel = "ad:model-updates"

    private let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    static func modelKey(_ seriesID: String, _ version: Int) -> String { "ad:model:\(seriesID):\(version)" }
    static func latestKey(_ seriesID: String) -> String { "ad:latest:\(seriesID)" }

    /// The message announcing a version: `"<version> <series_id>"` (ids have no spaces).
    static func announcement(_ model: StoredModel) -> String { "\(model.version) \(model.seriesID)" }

    /// Parses an announcement.
    static func parseAnnouncement(_ text: String) -> (seriesID: String, version: Int)? {
        guard let space = text.firstIndex(of: " "), let version = Int(text[..<space]), version > 0 else { return nil }
        let seriesID = String(text[text.index(after: space)...])
        return seriesID.isEmpty ? nil : (seriesID, version)
    }

    /// Stores a model and, all in one atomic script: when `isLatest`, raises the series' latest pointer to it
    /// (never lowers it); when `announce`, publishes it. Returns after Redis has acknowledged the script, so
    /// the announcement is already on every subscriber's socket.
    ///
    /// The announcement goes out even when Redis refuses to store (out of memory under `maxmemory`, `MISCONF`
    /// after a failed snapshot): subscribers then read the new version from Postgres, and `NotStored` tells the
    /// caller to store it again later. An announcing store insists (see `RedisClient.runInsisting`): a
    /// subscriber with a healthy subscription trusts its memory until told.
    /// - Parameters:
    ///   - isLatest: true only when Postgres said this is the newest version (a fit, or a read of the latest);
    ///     a pinned old version must not become the pointer of a series Redis has forgotten.
    /// - Throws: `NotStored` (announced all the same), `RedisError`.
    public func store(_ model: StoredModel, isLatest: Bool, announce: Bool) throws {
        let payload = String(decoding: try JSONEncoder().encode(model), as: UTF8.self)
        let store = [
            "EVAL", Self.storeScript, "2", Self.modelKey(model.seriesID, model.version), Self.latestKey(model.seriesID),
            payload, isLatest ? String(model.version) : "0", announce ? Self.updatesChannel : "", Self.announcement(model),
        ]
        // Redis flushes a script's reply and the messages it published in the same pass, but in no fixed order
        // (it may write our reply first). Once a second command on the same connection is answered, that pass
        // has ended, so the announcement is in every subscriber's socket before the fit is acknowledged.
        do {
            if announce {
                try redis.runInsisting([store, ["PING"]])
            } else {
                try redis.run([store])
            }
        } catch let error as RedisError where error.kind == .reply && error.message.hasPrefix(Self.notStoredPrefix) {
            throw NotStored(reason: String(error.message.dropFirst(Self.notStoredPrefix.count + 1)))
        }
    }

    /// Redis refused to store a model (its announcement, if asked for, went out).
    public struct NotStored: Error, Sendable, CustomStringConvertible {
        /// Redis's error, e.g. `OOM command not allowed when used memory > 'maxmemory'.`
        public let reason: String

        public var description: String { "Redis refused to store the model: \(reason)" }
    }

    /// How the script's error reply for a refused store begins.
    private static let notStoredPrefix = "NOTSTORED"

    /// The latest model of a series as Redis knows it (one round trip), or nil when Redis has no pointer
    /// or no parameters for it.
    /// - Throws: `RedisError`.
    public func latest(for seriesID: String) throws -> StoredModel? {
        let reply = try redis.command(["EVAL", Self.latestScript, "1", Self.latestKey(seriesID), "ad:model:\(seriesID):"])
        let parts = reply.elements
        guard parts.count == 2, case .string(let bytes) = parts[1] else { return nil }
        return try? JSONDecoder().decode(StoredModel.self, from: Data(bytes))
    }

    /// One version's parameters, or nil when Redis does not have them.
    /// - Throws: `RedisError`.
    public func model(for seriesID: String, version: Int) throws -> StoredModel? {
        guard case .string(let bytes) = try redis.command(["GET", Self.modelKey(seriesID, version)]) else { return nil }
        return try? JSONDecoder().decode(StoredModel.self, from: Data(bytes))
    }

    // `pcall` for the writes, so that a refused write (OOM, MISCONF) still lets the announcement out.
    private static let storeScript = """
        local function failed(reply) return type(reply) == 'table' and reply.err end
        local refused = failed(redis.pcall('SET', KEYS[1], ARGV[1]))
        if not refused then
          local current = tonumber(redis.call('GET', KEYS[2]) or '0')
          if tonumber(ARGV[2]) > current then -- ARGV[2] is 0 for a version not known to be the latest
            refused = failed(redis.pcall('SET', KEYS[2], ARGV[2])) end
        end
        if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
        if refused then return redis.error_reply('\(notStoredPrefix) ' .. refused) end
        return 1
        """

    private static let latestScript = """
        local version = redis.call('GET', KEYS[1])
        if not version then return false end
        return {version, redis.call('GET', ARGV[1] .. version)}
        """
}
