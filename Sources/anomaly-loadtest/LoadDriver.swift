import CSystemShims
import Glibc

/// One load thread: an epoll loop over its share of the connections, each carrying one request at a time.
///
/// Threading: built on the main thread, then handed to exactly one driver thread, which alone
/// touches it until `run()` returns; hence `@unchecked Sendable`.
final class LoadDriver: @unchecked Sendable {
    /// How often in-flight requests are checked for timeouts, and the stop flag read.
    static let sweepInterval: UInt64 = 50_000_000
    static let eventCapacity = 256
    static let readBufferSize = 64 * 1024
    static let hangUp = EPOLLHUP.rawValue | EPOLLERR.rawValue

    let plan: DriverPlan
    let catalog: RequestCatalog
    /// The address of each kind's service, by `RequestKind.rawValue`.
    let addresses: [SocketAddress?]
    let counters: LiveCounters
    let epoll: Epoll
    let readBuffer: UnsafeMutableBufferPointer<UInt8>
    var connections: [HTTPClientConnection] = []
    /// Connected idle connections, by kind.
    var idle: [ConnectionQueue]
    /// Connections without a socket, by kind.
    var closed: [[Int]]
    var statistics = WorkerStatistics()
    var pacer: RatePacer?
    var mix: RequestMix
    var dispatched = 0
    var inFlight = 0
    var predictCursor: Int

    /// - Parameters:
    ///   - plan: this driver's share of the run.
    ///   - catalog: the requests to send.
    ///   - addresses: each kind's service address, by `RequestKind.rawValue` (nil when unused).
    ///   - counters: where the progress line reads this driver's figures.
    /// - Throws: `LoadTestError` when no epoll instance can be created.
    init(plan: DriverPlan, catalog: RequestCatalog, addresses: [SocketAddress?], counters: LiveCounters) throws {
        self.plan = plan
        self.catalog = catalog
        self.addresses = addresses
        self.counters = counters
        epoll = try Epoll()
        readBuffer = .allocate(capacity: Self.readBufferSize)
        idle = RequestKind.allCases.map { _ in ConnectionQueue() }
        closed = RequestKind.allCases.map { _ in [] }
        mix = RequestMix(fitRatio: plan.fitRatio)
        pacer = plan.ratePerSecond.map { RatePacer(ratePerSecond: $0, start: plan.start) }
        predictCursor = (plan.index * 1031) % max(1, catalog.predictRequests.count)
        for (kind, count) in [(RequestKind.predict, plan.predictConnections), (.fit, plan.fitConnections)] {
            for _ in 0..<count {
                let connection = HTTPClientConnection(index: connections.count, kind: kind)
                closed[kind.rawValue].append(connection.index)
                connections.append(connection)
            }
        }
    }

    deinit {
        readBuffer.deallocate()
        epoll.close()
    }

    /// Runs until the duration or request budget is used up (or Ctrl-C), then until every request
    /// in flight has finished or timed out.
    /// - Returns: what this driver measured.
    func run() -> WorkerStatistics {
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: Self.eventCapacity)
        defer { events.deallocate() }
        var nextSweep = MonotonicClock.now() + Self.sweepInterval
        while true {
            let now = MonotonicClock.now()
            let accepting = acceptsNewRequests(now: now)
            if accepting {
                dispatchDue(now: now)
            } else if inFlight == 0 {
                break
            }
            let count = epoll.wait(into: events, timeoutMilliseconds: waitMilliseconds(now: now, accepting: accepting))
            for position in 0..<count {
                handle(events: events[position].events, token: events[position].data.u64)
            }
            let after = MonotonicClock.now()
            if after >= nextSweep {
                sweepTimeouts(now: after)
                nextSweep = after + Self.sweepInterval
            }
        }
        statistics.finishedAt = MonotonicClock.now()
        for connection in connections { closeSocket(connection) }
        return statistics
    }

    // MARK: - Scheduling

    func acceptsNewRequests(now: UInt64) -> Bool {
        if StopSignal.isRequested { return false }
        if let deadline = plan.deadline, now >= deadline { return false }
        if let budget = plan.requestBudget, dispatched >= budget { return false }
        return true
    }

    /// Starts every request that is due: as many as there are free connections at full speed,
    /// or the due slots of the pacer.
    func dispatchDue(now: UInt64) {
        while plan.requestBudget.map({ dispatched < $0 }) ?? true {
            if let pacer, !pacer.isSlotDue(now: now) { return }
            let kind = mix.nextKind
            guard let index = takeAvailableConnection(kind, now: now) else { return }
            pacer?.consumeSlot(now: now)
            mix.advance()
            dispatched += 1
            start(kind, on: connections[index])
        }
    }

    /// How long epoll may sleep: until the next pacer slot, reopen time or deadline, and never
    /// longer than the sweep interval.
    func waitMilliseconds(now: UInt64, accepting: Bool) -> Int32 {
        var wait = Self.sweepInterval
        if accepting {
            if let deadline = plan.deadline, deadline > now { wait = min(wait, deadline - now) }
            let kind = mix.nextKind
            if !idle[kind.rawValue].isEmpty || closed[kind.rawValue].contains(where: { connections[$0].reopenAt <= now }) {
                if let pacer { wait = min(wait, pacer.nanosecondsUntilNextSlot(now: now)) }
            } else if let reopen = closed[kind.rawValue].lazy.map({ self.connections[$0].reopenAt }).min(), reopen > now {
                wait = min(wait, reopen - now)
            }
        }
        return Int32((wait + 999_999) / 1_000_000)
    }

    /// A connection of `kind` that can take a request now: an idle one (the longest idle first),
    /// else a closed one past its backoff.
    func takeAvailableConnection(_ kind: RequestKind, now: UInt64) -> Int? {
        if let index = idle[kind.rawValue].pop() { return index }
        if let position = closed[kind.rawValue].firstIndex(where: { connections[$0].reopenAt <= now }) {
            return closed[kind.rawValue].remove(at: position)
        }
        return nil
    }

    func start(_ kind: RequestKind, on connection: HTTPClientConnection) {
        let bytes: [UInt8]
        switch kind {
        case .predict:
            bytes = catalog.predictRequests[predictCursor]
            predictCursor = (predictCursor + 1) % catalog.predictRequests.count
        case .fit:
            bytes = catalog.fitRequest
        }
        let startedAt = MonotonicClock.now()
        connection.request = .init(bytes: bytes, sent: 0, startedAt: startedAt, deadline: startedAt + plan.timeout, retried: false)
        inFlight += 1
        if connection.fd >= 0 {
            connection.state = .sending
            send(connection)
        } else {
            open(connection)
        }
    }

    func sweepTimeouts(now: UInt64) {
        for connection in connections {
            if let request = connection.request, request.deadline <= now {
                fail(connection, .timeout)
            }
        }
    }
}
