import ArgumentParser

/// Command-line options every service accepts. Flags win over environment variables, which win over defaults.
public struct ServiceOptions: ParsableArguments {
    @Option(help: "TCP port to listen on (default: the service's port, or <SERVICE>_PORT).")
    public var port: Int?

    @Option(help: "Address to bind (default: HOST, or 127.0.0.1).")
    public var host: String?

    @Option(help: "Event-loop threads (default: HTTP_THREADS, or one per available CPU).")
    public var threads: Int?

    public init() {}
}
