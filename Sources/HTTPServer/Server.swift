import CSystemShims
import Dispatch
import Foundation
import Glibc
import Logging
import Synchronization

/// State every loop of one server reads: configuration, routes, the blocking pool, the connection count.
final class ServerShared: Sendable {
    let configuration: ServerConfiguration
    let router: Router
    let pool: BlockingPool
    let openConnections = Atomic<Int>(0)
    /// The connection cap in force: the configured one, lowered to fit the open-file limit.
    let maxConnections: Int
    let openFileLimit: Int

    init(configuration: ServerConfiguration, router: Router) {
        self.configuration = configuration
        self.openFileLimit = Socket.raiseOpenFileLimit()
        // Leave room for listeners, epoll and eventfds, Postgres and Redis connections, log files.
        self.maxConnections = max(1, min(configuration.maxConnections, openFileLimit - 256))
        self.router = router
        self.pool = BlockingPool(threadCount: configuration.blockingThreads, queueCapacity: configuration.blockingQueueCapacity)
    }
}

/// An HTTP/1.1 server: `loopThreads` epoll loops, each with its own `SO_REUSEPORT` listener,
/// plus a bounded pool for blocking handlers.
///
/// ```swift
/// var router = Router()
/// router.get("/livez", execution: .inline) { _ in .text("ok") }
/// let server = Server(configuration: .init(port: 8000), router: router, logger: logger)
/// try server.run() // until SIGTERM or SIGINT, then a graceful shutdown
/// ```
public final class Server: Sendable {
    private let shared: ServerShared
    private let logger: Logger
    private let state = Mutex<RunState>(RunState())

    private struct RunState {
        var loops: [EventLoop] = []
        var finished: DispatchGroup?
        var port = 0
    }

    public init(configuration: ServerConfiguration, router: Router, logger: Logger) {
        self.shared = ServerShared(configuration: configuration, router: router)
        self.logger = logger
    }

    /// The port the server listens on (the real one when configured with port 0).
    public var port: Int { state.withLock { $0.port } }

    /// Fails now, naming the address, when `host:port` cannot be bound (say it is taken), so that a service can
    /// say so before it spends time connecting to anything.
    /// - Throws: `SocketError`.
    public static func checkAvailable(host: String, port: Int) throws {
        guard port != 0 else { return }
        close(try Socket.listen(host: host, port: port, reusePort: false, backlog: 1))
    }

    /// Binds the listeners and starts the loop threads; returns once they accept connections.
    /// - Throws: `SocketError` naming the address, e.g. when the port is taken.
    public func start() throws {
        let configuration = shared.configuration
        signal(SIGPIPE, SIG_IGN)
        var listeners: [Int32] = []
        do {
            // SO_REUSEPORT would let a second instance share a port already in use and silently split
            // its traffic; an exclusive probe bind first makes "address in use" an error, as users expect.
            let probe = try Socket.listen(host: configuration.host, port: configuration.port, reusePort: false, backlog: 1)
            let port = Socket.localPort(of: probe)
            close(probe)
            for _ in 0..<max(1, configuration.loopThreads) {
                listeners.append(try Socket.listen(host: configuration.host, port: port, reusePort: true, backlog: configuration.backlog))
            }
            let loops = try listeners.enumerated().map { index, fd in
                try EventLoop(index: index, listenFD: fd, shared: shared, logger: logger)
            }
            let finished = DispatchGroup()
            for (index, loop) in loops.enumerated() {
                finished.enter()
                let thread = Thread {
                    c_shims_name_thread("http-loop-\(index)")
                    loop.run()
                    finished.leave()
                }
                thread.name = "http-loop-\(index)"
                thread.start()
            }
            state.withLock {
                $0.loops = loops
                $0.finished = finished
                $0.port = port
            }
            logger.info("listening", metadata: [
                "address": "\(configuration.host):\(port)", "loops": "\(loops.count)",
                "blocking_threads": "\(configuration.blockingThreads)", "max_connections": "\(shared.maxConnections)",
                "open_file_limit": "\(shared.openFileLimit)",
            ])
        } catch {
            listeners.forEach { close($0) }
            throw error
        }
    }

    /// Graceful shutdown: stop accepting, close idle connections, let in-flight requests finish
    /// (their responses carry `Connection: close`), and cut what is left when the grace period ends.
    /// - Returns: whether everything finished within the grace period.
    @discardableResult
    public func shutdown() -> Bool {
        let (loops, finished) = state.withLock { ($0.loops, $0.finished) }
        loops.forEach { $0.requestShutdown() }
        let grace = shared.configuration.shutdownGracePeriod
        let deadline = DispatchTime.now() + .milliseconds(Int(grace.milliseconds) + 500)
        let loopsDone = finished?.wait(timeout: deadline) == .success
        let poolDone = shared.pool.shutdown(deadline: deadline)
        logger.info("stopped", metadata: ["clean": "\(loopsDone && poolDone)"])
        return loopsDone && poolDone
    }

    /// Starts, waits for SIGTERM or SIGINT, then shuts down gracefully.
    /// - Returns: when the signal arrived, from which the caller times what it still has to do before exiting.
    /// - Throws: what `start()` throws.
    @discardableResult
    public func run() throws -> ContinuousClock.Instant {
        let signals = TerminationSignals()
        try start()
        let received = signals.wait()
        let signalled = ContinuousClock.now
        logger.info("shutting down", metadata: ["signal": "\(received)", "grace_seconds": "\(shared.configuration.shutdownGracePeriod)"])
        shutdown()
        return signalled
    }
}

/// Waits for SIGTERM or SIGINT without letting either kill the process.
/// `@unchecked` because dispatch sources are not marked `Sendable`; they are set up once in `init` and only kept alive after.
final class TerminationSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let received = DispatchSemaphore(value: 0)
    private let signalNumber = Atomic<Int32>(0)

    init() {
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            sources.append(source)
        }
        self.sources = sources
        for source in sources {
            source.setEventHandler { [self] in
                signalNumber.store(Int32(source.handle), ordering: .relaxed)
                received.signal()
            }
            source.resume()
        }
    }

    /// Blocks until a signal arrives; returns its number.
    func wait() -> Int32 {
        received.wait()
        return signalNumber.load(ordering: .relaxed)
    }
}
