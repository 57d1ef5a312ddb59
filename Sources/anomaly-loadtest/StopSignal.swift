import Glibc
import Synchronization

/// Ctrl-C ends the run early but still prints the report; a second Ctrl-C kills the process.
enum StopSignal {
    /// Set by the SIGINT/SIGTERM handler; the drivers poll it at least every 50 ms.
    static let requested = Atomic<Bool>(false)

    /// Installs the handlers and ignores SIGPIPE (writes use `MSG_NOSIGNAL`, but be safe).
    static func install() {
        signal(SIGPIPE, SIG_IGN)
        let handler: @convention(c) (Int32) -> Void = { number in
            StopSignal.requested.store(true, ordering: .relaxed)
            signal(number, SIG_DFL)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    static var isRequested: Bool {
        requested.load(ordering: .relaxed)
    }
}
