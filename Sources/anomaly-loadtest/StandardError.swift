import Glibc

/// Writes to file descriptor 2 directly: progress and diagnostics, kept off stdout where `--json` goes.
enum StandardError {
    /// Whether stderr is a terminal, where the progress line rewrites itself in place.
    static var isTerminal: Bool { isatty(2) == 1 }

    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
