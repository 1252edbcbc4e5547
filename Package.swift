// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "llm-job-service",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "saas-api", targets: ["API"]),
        .executable(name: "saas-worker", targets: ["Worker"]),
        .executable(name: "saas-mock-llm", targets: ["MockLLM"]),
        .executable(name: "saas-bench", targets: ["Bench"]),
        .executable(name: "saasctl", targets: ["Saasctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["ConfigurationSupport"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // The OpenAPI 3.1 document, built from the route table; its external-loading trait is off
        // (the document is built in memory, nothing is loaded).
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0", traits: []),
    ],
    targets: [
        // Module maps over the C libraries. Only the `Redis` and `Postgres` targets depend on them,
        // so C types never leave those two.
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            path: "Sources/CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // The one place a process raises its open-files limit (API, worker, mock upstream, bench).
        .target(
            name: "ProcessLimits",
            swiftSettings: swiftSettings
        ),
        // An OS thread per blocking C connection (hiredis; libpq only while it connects: its
        // statements are non-blocking, waited for by the Postgres target's reactor), so neither
        // blocks the cooperative pool or an event loop.
        .target(
            name: "DedicatedThreads",
            swiftSettings: swiftSettings
        ),
        // The metric names of API.md and the JSON log lines (`LOG_FORMAT=json`): below the two
        // clients, which count their round trips and transactions, and beside the mock upstream.
        .target(
            name: "Telemetry",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // `RetryPolicy`: the one backoff type, for the PostgreSQL client and the worker's loops.
        .target(
            name: "Backoff",
            swiftSettings: swiftSettings
        ),
        // A UUID's text, written and read without Foundation's printf and sscanf: every id the
        // service sends or stores passes through it (the PostgreSQL client, the queue, the API).
        .target(
            name: "UUIDText",
            swiftSettings: swiftSettings
        ),
        // Test documents made by code (PDF, DOCX, ODT, zip bombs), for the tests and the benchmark.
        .target(
            name: "DocumentFixtures",
            swiftSettings: swiftSettings
        ),
        // The async Redis client over hiredis.
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis",
                "DedicatedThreads",
                "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The async PostgreSQL client over libpq.
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                "DedicatedThreads",
                "Telemetry",
                "Backoff",
                "UUIDText",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The domain, the stores, the queue, configuration and security, over the two clients.
        .target(
            name: "Shared",
            dependencies: [
                "Redis",
                "Postgres",
                "Telemetry",
                "UUIDText",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "API",
            dependencies: [
                "Shared",
                "Telemetry",
                "UUIDText",
                "Redis",
                "Postgres",
                "ProcessLimits",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                // `HTTPParserError`: a body the client broke off is its failure (APIError+Answering)
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            ],
            // The dashboard's templates and the `/docs` page, read once at start.
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Worker",
            dependencies: [
                "Shared",
                "Telemetry",
                "Redis",
                "Postgres",
                "Backoff",
                "ProcessLimits",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // the worker's own `/metrics` on WORKER_METRICS_PORT
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MockLLM",
            dependencies: [
                "ProcessLimits",
                "Telemetry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // `saasctl`, the admin command line: talks to the API over HTTP, never to the stores.
        .executableTarget(
            name: "Saasctl",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // SHA-256 of `submit`'s files, for their Idempotency-Keys
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Load generators for the benchmarks in scripts/bench-*.sh; never part of a deployment.
        .executableTarget(
            name: "Bench",
            dependencies: [
                "Shared",
                "UUIDText",
                "DocumentFixtures",
                "Redis",
                "Postgres",
                "ProcessLimits",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // `webhook-receiver`, the receiving end of scripts/bench-webhooks.sh
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test support shared by the test targets: `RecordingMetrics`, a factory that keeps what
        // is recorded (swift-metrics' bootstrap is once per process).
        .target(
            name: "MetricsTesting",
            dependencies: [.product(name: "Metrics", package: "swift-metrics")],
            path: "Tests/MetricsTesting",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: [
                "Shared",
                "UUIDText",
                "MetricsTesting",
                "Telemetry",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "DocumentFixtures",
                "Redis",
                "Postgres",
                "DedicatedThreads",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API",
                "DocumentFixtures",
                "Shared",
                "UUIDText",
                "Postgres",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SaasctlTests",
            dependencies: [
                "Saasctl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MockLLMTests",
            dependencies: [
                "MockLLM",
                // only to hold the mock's json_schema answers to the worker's checker
                "Shared",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "Worker",
                "MetricsTesting",
                // the worker's /metrics serves a registry of the test's own
                .product(name: "Prometheus", package: "swift-prometheus"),
                "DocumentFixtures",
                "Shared",
                "Redis",
                "Backoff",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // a local webhook receiver in WebhookSenderTests
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "API",
                "DocumentFixtures",
                "Shared",
                "Redis",
                "Postgres",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
