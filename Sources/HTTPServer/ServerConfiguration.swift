import CSystemShims

/// Everything the server can be tuned by. Defaults suit a service on the internet.
public struct ServerConfiguration: Sendable {
    /// Address to bind; `0.0.0.0` or `::` for every interface.
    public var host: String
    /// TCP port; 0 picks a free one (see `Server.port`).
    public var port: Int
    /// Event-loop threads, each with its own `SO_REUSEPORT` listener. Default: one per CPU this process may use.
    public var loopThreads: Int
    /// `listen(2)` backlog; the kernel caps it at `net.core.somaxconn`.
    public var backlog: Int32
    /// Open connections beyond this are answered 503 and closed at once.
    public var maxConnections: Int
    /// Threads for `.blocking` handlers.
    public var blockingThreads: Int
    /// Requests that may wait for a blocking thread before new ones are answered 503.
    public var blockingQueueCapacity: Int
    /// Request size limits.
    public var limits: RequestLimits
    /// Read, idle and write timeouts.
    public var timeouts: Timeouts
    /// How long in-flight requests may run after SIGTERM before connections are cut.
    public var shutdownGracePeriod: Duration
    /// The `Server` header value.
    public var serverName: String

    /// Per-connection timeouts.
    public struct Timeouts: Sendable, Equatable {
        /// From the first byte of a request to the end of its head; past it the client gets 408 (slowloris guard).
        public var headerRead: Duration
        /// From the end of the head to the end of the body; past it the client gets 408.
        public var bodyRead: Duration
        /// How long an idle keep-alive connection stays open between requests.
        public var keepAliveIdle: Duration
        /// How long a response may wait for a client that does not read it.
        public var write: Duration

        public init(headerRead: Duration = .seconds(10), bodyRead: Duration = .seconds(60), keepAliveIdle: Duration = .seconds(75), write: Duration = .seconds(30)) {
            self.headerRead = headerRead
            self.bodyRead = bodyRead
            self.keepAliveIdle = keepAliveIdle
            self.write = write
        }
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        loopThreads: Int = ServerConfiguration.availableCPUs,
        backlog: Int32 = 4096,
        maxConnections: Int = 30_000,
        blockingThreads: Int = 32,
        blockingQueueCapacity: Int = 4096,
        limits: RequestLimits = RequestLimits(),
        timeouts: Timeouts = Timeouts(),
        shutdownGracePeriod: Duration = .seconds(10),
        serverName: String = "anomaly-detection"
    ) {
        self.host = host
        self.port = port
        self.loopThreads = loopThreads
        self.backlog = backlog
        self.maxConnections = maxConnections
        self.blockingThreads = blockingThreads
        self.blockingQueueCapacity = blockingQueueCapacity
        self.limits = limits
        self.timeouts = timeouts
        self.shutdownGracePeriod = shutdownGracePeriod
        self.serverName = serverName
    }

    /// CPUs this process may run on, honouring `taskset` and cpusets.
    public static var availableCPUs: Int { Int(c_shims_available_cpus()) }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
