import Foundation
import Logging
import Synchronization

/// Knows each series' latest version without a round trip, kept exact by a Redis subscription.
///
/// Training publishes every new version and answers a fit only after Redis acknowledged the PUBLISH, so by
/// the time a client can send a predict, the announcement already sits in this process's subscription socket.
/// `knowledge(of:)` drains that socket (non-blocking) before answering, which makes it read-your-writes
/// exact. A drain that started after the request was received is just as good, so a server that drains once
/// per round of reads (`takeAnnouncements`, before handling the requests read) saves every request its own
/// read. A series becomes known by a read (`confirm`); announcements only ever raise versions. While the
/// subscription is down, nothing is answered from memory (callers read Redis or Postgres), and every
/// reconnection forgets everything, since announcements may have been missed.
///
/// A hung Redis (stopped, partitioned) keeps the socket open but silent. The upkeep thread sends a PING every
/// `pingInterval`; memory is trusted only while something was heard within `silenceLimit`, and the subscription
/// counts as lost once a PING has gone unanswered that long. The limit is below the command timeout training
/// uses for its PUBLISH, so a fit that Redis never took is acknowledged only after this process stopped
/// trusting its memory. When nothing was heard only because no PING went out (the upkeep thread ran late on a
/// starved machine), the drain that notices sends one and trusts memory again as soon as Redis answers,
/// instead of dropping a healthy subscription and everything learnt through it.
public final class LatestVersionTracker: Sendable {
    private struct Entry {
        var version: Int
        /// Set once a read of Redis or Postgres confirmed it; announced-only entries are not served.
        var confirmed: Bool
    }

    private struct State {
        var connection: RedisConnection?
        /// Bumped on every loss and every reconnection; a read taken under an older epoch is not kept.
        var epoch: UInt64 = 0
        var latest: [String: Entry] = [:]
        /// Monotonic milliseconds when the subscription last delivered anything (a message or a PONG).
        var lastHeard: Int64 = 0
        /// Monotonic milliseconds when the oldest PING not followed by any reply yet was sent (nil: none).
        var pingUnansweredSince: Int64?
        /// Monotonic nanoseconds when the last successful drain of the current subscription started (0: none).
        var drainStartedAt: UInt64 = 0
        /// Series a read found without any model (so a flood of predicts for them costs Postgres nothing);
        /// an announcement for one removes it.
        var missing: Set<String> = []
    }

    /// The most series remembered as missing; past it the set starts over.
    static let missingCapacity = 100_000

    /// What memory says about a series' latest version.
    public enum Knowledge: Sendable, Equatable {
        /// Confirmed, and every announcement already received taken in.
        case latest(Int)
        /// A read found no model, and nothing was announced since.
        case missing
        /// Ask Redis or Postgres.
        case unknown
    }

    private let state = Mutex(State())
    private let endpoint: RedisEndpoint
    private let timeoutMilliseconds: Int
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)
    private let pingIntervalMilliseconds: Int
    private let silenceLimitMilliseconds: Int64

    /// How long after the last word from Redis memory stops being trusted, at the latest: a publisher whose
    /// announcement failed with Redis still answering waits this long before acknowledging.
    public var distrustAfter: Duration { .milliseconds(silenceLimitMilliseconds + Int64(pingIntervalMilliseconds)) }

    /// - Parameters:
    ///   - endpoint: the Redis that training publishes on.
    ///   - timeoutMilliseconds: for connecting and subscribing.
    ///   - pingIntervalMilliseconds: how often the subscription is pinged.
    ///   - silenceLimitMilliseconds: how long without a word from Redis before the subscription counts as lost;
    ///     must stay below the command timeout of the publishers (`RedisClient`, 500 ms by default).
    public init(endpoint: RedisEndpoint, timeoutMilliseconds: Int = 500, pingIntervalMilliseconds: Int = 100, silenceLimitMilliseconds: Int = 350, logger: Logger) {
        self.endpoint = endpoint
        self.timeoutMilliseconds = timeoutMilliseconds
        self.pingIntervalMilliseconds = pingIntervalMilliseconds
        self.silenceLimitMilliseconds = Int64(silenceLimitMilliseconds)
        self.logger = logger
    }

    /// Subscribes now if it can, then keeps the subscription alive, pinged and drained on its own thread.
    public func start() {
        reconnectIfNeeded()
        // Normal priority: a PING sent late would look like a hung Redis.
        BackgroundThread.start(name: "model-updates", priority: .normal) { [self] in
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: Double(pingIntervalMilliseconds) / 1000)
                if !reconnectIfNeeded() { ping() }
            }
        }
    }

    private func ping() {
        state.withLock { state in
            guard drain(&state) else { return }
            sendPing(&state)
        }
    }

    private func sendPing(_ state: inout State) {
        guard let connection = state.connection else { return }
        do {
            try connection.sendWithoutWaiting(["PING"])
            state.pingUnansweredSince = state.pingUnansweredSince ?? MonotonicClock.milliseconds
        } catch {
            lose(&state, error)
        }
    }

    /// Takes in every announcement received so far (a server calls this after each round of reads).
    public func takeAnnouncements() {
        state.withLock { _ = drain(&$0) }
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Whether the subscription is up (so memory can be trusted).
    public var isSubscribed: Bool { state.withLock { $0.connection != nil } }

    /// What memory says about a series, after taking in every announcement already received.
    /// - Parameter receivedAt: when the request asking was received (`CLOCK_MONOTONIC` nanoseconds): a drain
    ///   that started later has taken in every announcement the request could depend on, so the socket is not
    ///   read again. 0 (unknown) reads it.
    public func knowledge(of seriesID: String, receivedAt: UInt64 = 0) -> Knowledge {
        state.withLock { state in
            let drainedSince = receivedAt > 0 && state.connection != nil && state.drainStartedAt > receivedAt
            guard drainedSince || drain(&state) else { return .unknown }
            if let entry = state.latest[seriesID] { return entry.confirmed ? .latest(entry.version) : .unknown }
            return state.missing.contains(seriesID) ? .missing : .unknown
        }
    }

    /// Records that a read (started under `epoch`) found no model for a series.
    public func confirmMissing(_ seriesID: String, epoch: UInt64) {
        state.withLock { state in
            guard drain(&state), state.epoch == epoch, state.latest[seriesID] == nil else { return }
            if state.missing.count >= Self.missingCapacity { state.missing.removeAll() }
            state.missing.insert(seriesID)
        }
    }

    /// The epoch to pass to `confirm` for a read about to start, or nil when the subscription is down.
    public func currentEpoch() -> UInt64? {
        state.withLock { state in drain(&state) ? state.epoch : nil }
    }

    /// Records that a read (started under `epoch`) found `version` as the latest of a series.
    /// - Returns: the version to serve: `version`, or a newer one announced meanwhile.
    @discardableResult
    public func confirm(_ seriesID: String, version: Int, epoch: UInt64) -> Int {
        state.withLock { state in
            guard drain(&state), state.epoch == epoch else { return version }
            let newest = max(version, state.latest[seriesID]?.version ?? 0)
            state.latest[seriesID] = Entry(version: newest, confirmed: true)
            return newest
        }
    }

    /// Takes in what the subscription socket holds. Returns false when the subscription is down, or when
    /// Redis has not been heard from lately (memory is not to be trusted until it is).
    private func drain(_ state: inout State) -> Bool {
        guard let connection = state.connection else { return false }
        let started = MonotonicClock.nanoseconds
        do {
            let replies = try connection.drainWithoutBlocking()
            let now = MonotonicClock.milliseconds
            // An error reply (`-LOADING` while Redis loads its data, `-BUSY` behind a long script) is Redis
            // unable to do its work: not a sign of life that makes memory trustworthy.
            if replies.contains(where: { !$0.isError }) {
                state.lastHeard = now
                state.pingUnansweredSince = nil
            } else if now - state.lastHeard > silenceLimitMilliseconds {
                if let since = state.pingUnansweredSince, now - since > silenceLimitMilliseconds {
                    throw RedisError(kind: .unavailable, message: "Redis has not answered the subscription's PING for \(now - since) ms")
                }
                // Silent only because no PING went out lately: ask now; memory waits for the answer.
                if state.pingUnansweredSince == nil { sendPing(&state) }
                return false
            }
            for reply in replies {
                let parts = reply.elements
                guard parts.count == 3, parts[0].text == "message", let text = parts[2].text,
                      let (seriesID, version) = RedisModelCache.parseAnnouncement(text) else { continue }
                state.missing.remove(seriesID)
                if var entry = state.latest[seriesID] {
                    entry.version = max(entry.version, version)
                    state.latest[seriesID] = entry
                } else {
                    state.latest[seriesID] = Entry(version: version, confirmed: false)
                }
            }
            state.drainStartedAt = started
            return true
        } catch {
            lose(&state, error)
            return false
        }
    }

    /// Forgets the subscription and everything learnt through it; the upkeep thread subscribes again.
    private func lose(_ state: inout State, _ error: any Error) {
        logger.warning("model-update subscription lost; reading latest versions per request until it is back", metadata: ["error": "\(error)"])
        state.connection = nil
        state.drainStartedAt = 0
        state.epoch &+= 1
        state.latest.removeAll()
        state.missing.removeAll()
    }

    /// Subscribes when not subscribed. Returns true when it tried (successfully or not).
    @discardableResult
    private func reconnectIfNeeded() -> Bool {
        guard state.withLock({ $0.connection == nil }) else { return false }
        do {
            let connection = try RedisConnection(endpoint: endpoint, timeoutMilliseconds: timeoutMilliseconds)
            let reply = try connection.command(["SUBSCRIBE", RedisModelCache.updatesChannel])
            guard reply.elements.first?.text == "subscribe" else {
                throw RedisError(kind: .reply, message: "unexpected answer to SUBSCRIBE: \(reply)")
            }
            state.withLock { state in
                state.connection = connection
                state.drainStartedAt = 0
                state.epoch &+= 1
                state.latest.removeAll()
                state.missing.removeAll()
                state.lastHeard = MonotonicClock.milliseconds
                state.pingUnansweredSince = nil
            }
            logger.info("subscribed to model updates", metadata: ["channel": "\(RedisModelCache.updatesChannel)"])
        } catch {
            logger.debug("cannot subscribe to model updates yet", metadata: ["error": "\(error)"])
        }
        return true
    }
}
