// swift-tools-version:6.1
import PackageDescription

/// Compiler hygiene shared by every Swift target: Swift 6 mode is the package default,
/// and existential types must be spelled `any`.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "anomaly-detection",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "training-service", targets: ["training-service"]),
        .executable(name: "inference-service", targets: ["inference-service"]),
        .executable(name: "monitoring-service", targets: ["monitoring-service"]),
        .executable(name: "anomaly-loadtest", targets: ["anomaly-loadtest"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // C edge: the Linux system calls Glibc's module map does not export (epoll, eventfd).
        .target(name: "CSystemShims"),

        // C edge: libpq and hiredis, linked through pkg-config.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),

        // Our HTTP/1.1 server over POSIX sockets and epoll. Knows nothing about anomalies.
        .target(
            name: "HTTPServer",
            dependencies: [
                "CSystemShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strictSettings
        ),

        // The shared library: the 3-sigma model, Postgres storage, the Redis cache.
        .target(
            name: "AnomalyDetection",
            dependencies: [
                "CLibPQ",
                "CHiredis",
                "CSystemShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strictSettings
        ),

        // What the three services have in common: configuration, logging, operational routes.
        .target(
            name: "ServiceSupport",
            dependencies: [
                "HTTPServer",
                "AnomalyDetection",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strictSettings
        ),

        // The monitoring service's dashboard, plots and system status (pure renderers apart from the I/O).
        .target(
            name: "Monitoring",
            dependencies: ["ServiceSupport", "HTTPServer", "AnomalyDetection"],
            swiftSettings: strictSettings
        ),

        // The load-test tool: trains a series, then drives /predict (and /fit) over keep-alive connections.
        .executableTarget(
            name: "anomaly-loadtest",
            dependencies: [
                "CSystemShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strictSettings
        ),

        .executableTarget(
            name: "training-service",
            dependencies: ["ServiceSupport", "HTTPServer", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "inference-service",
            dependencies: ["ServiceSupport", "HTTPServer", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "monitoring-service",
            dependencies: ["Monitoring", "ServiceSupport", "HTTPServer", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),

        // A server with test-only routes (echo, slow, params) that the socket tests drive with real clients.
        .executableTarget(
            name: "http-fixture-server",
            dependencies: ["AnomalyDetection", "ServiceSupport", "HTTPServer", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),

        .testTarget(
            name: "HTTPServerTests",
            dependencies: ["HTTPServer"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ServiceSupportTests",
            dependencies: ["ServiceSupport", "HTTPServer"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AnomalyDetectionTests",
            dependencies: ["AnomalyDetection", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MonitoringTests",
            dependencies: ["Monitoring", "AnomalyDetection"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "AnomalyLoadTestTests", dependencies: ["anomaly-loadtest"], swiftSettings: strictSettings),
    ]
)
