// swift-tools-version:6.2
import PackageDescription

/// Swift 6 language mode everywhere, with the upcoming features the Hummingbird project uses; a
/// warning in the project's own code fails the build (the dependencies' warnings do not).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "okta-connector",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "okta-connector", targets: ["okta-connector"]),
        .executable(name: "okta-sim", targets: ["okta-sim"]),
    ],
    // Exact versions (README, "Reproducible builds"): no Package.resolved is committed (the local package
    // mirror's commit ids differ from GitHub's, so a committed one would not resolve in both places), so
    // these pins are what makes every build, the image's included, use the same dependency versions.
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
    ],
    targets: [
        // The domain: Okta's data, the mapping to Neurons, schedules, event meaning, time.
        // No HTTP framework and no database here.
        .target(
            name: "ConnectorDomain",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto")
            ],
            swiftSettings: swiftSettings
        ),
        // The YAML configuration file: decoding, `${ENV}` and `*_file` secrets, validation.
        .target(
            name: "ConnectorConfiguration",
            dependencies: [
                "ConnectorDomain",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Durable state: users, inbox, outbox, dead letters, runs, schedule state, leases.
        // The contract (protocols and models) only; each backend is a target of its own.
        .target(
            name: "ConnectorStore",
            dependencies: [
                "ConnectorDomain",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The embedded backend of the store: one SQLite file through GRDB (SPEC §10).
        .target(
            name: "SQLiteStore",
            dependencies: [
                "ConnectorDomain", "ConnectorStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL backend of the store, for several replicas (SPEC §10).
        .target(
            name: "PostgreSQLStore",
            dependencies: [
                "ConnectorDomain", "ConnectorStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Okta Management API client: auth (SSWS, OAuth service apps), rate limits, retries, pagination.
        .target(
            name: "OktaClient",
            dependencies: [
                "ConnectorDomain",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Where mapped records go: the Neurons HTTP endpoint, CSV snapshots, NDJSON (SPEC §9).
        .target(
            name: "NeuronsSinks",
            dependencies: [
                "ConnectorDomain",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The engine: the applier, reconciler, scheduler, forwarder and poller as Services, and each
        // connector's operations. No HTTP client and no TLS here: the composition root hands them in.
        .target(
            name: "ConnectorEngine",
            dependencies: [
                "ConnectorDomain", "ConnectorConfiguration", "ConnectorStore", "OktaClient", "NeuronsSinks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP side: the event hook receiver, the admin API and the console, and their listeners.
        .target(
            name: "ConnectorServer",
            dependencies: [
                "ConnectorDomain", "ConnectorConfiguration", "ConnectorStore", "ConnectorEngine", "OktaClient",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            // The console's page templates, built into the binary: nothing to ship beside it.
            resources: [.embedInCode("Admin/Console/Templates")],
            swiftSettings: swiftSettings
        ),
        // The composition root: builds the process's services from its configuration (the store, the
        // outgoing HTTP client, each connector through `ConnectorAssembly`, the listeners).
        .target(
            name: "ConnectorApp",
            dependencies: [
                "ConnectorDomain", "ConnectorConfiguration", "ConnectorStore", "SQLiteStore", "PostgreSQLStore",
                "OktaClient", "NeuronsSinks", "ConnectorEngine", "ConnectorServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A faithful local Okta org: seeded users, apps, devices; the Management API with Okta's
        // shapes, pagination, rate limits and errors; event hooks; fault injection (SPEC §13).
        .target(
            name: "OktaSimulator",
            dependencies: [
                "ConnectorDomain",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        // `okta-sim`: the simulator as a program.
        .executableTarget(
            name: "okta-sim",
            dependencies: [
                "OktaSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The benchmark programs of SPEC §14 (run a release build).
        .executableTarget(
            name: "okta-benchmarks",
            dependencies: [
                "ConnectorDomain",
                "ConnectorConfiguration",
                "ConnectorApp",
                "ConnectorEngine",
                "ConnectorServer",
                "ConnectorStore", "SQLiteStore",
                "NeuronsSinks",
                "OktaClient",
                "OktaSimulator", "PostgreSQLStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The thin executable: parse arguments, build the parts, run.
        .executableTarget(
            name: "okta-connector",
            dependencies: [
                "ConnectorDomain",
                "ConnectorConfiguration",
                "ConnectorStore", "SQLiteStore",
                "ConnectorApp",
                "ConnectorEngine",
                "ConnectorServer",
                "OktaClient",
                "OktaSimulator",
                "PostgreSQLStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets (a manual clock, polling, the shared Okta data); never in a product.
        .target(
            name: "ConnectorTestSupport",
            dependencies: [
                "ConnectorDomain", "ConnectorStore", "SQLiteStore", "PostgreSQLStore", "OktaClient",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConnectorEngineTests",
            dependencies: [
                "ConnectorApp", "ConnectorEngine", "ConnectorConfiguration", "ConnectorDomain", "ConnectorStore",
                "SQLiteStore", "OktaClient",
                "OktaSimulator", "ConnectorTestSupport", "NeuronsSinks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OktaClientTests",
            dependencies: [
                "OktaClient", "OktaSimulator", "ConnectorDomain", "ConnectorTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConnectorServerTests",
            dependencies: [
                "okta-connector", "PostgreSQLStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                "ConnectorApp", "ConnectorServer", "ConnectorEngine", "ConnectorConfiguration", "ConnectorDomain",
                "ConnectorStore",
                "SQLiteStore",
                "OktaClient", "OktaSimulator", "ConnectorTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // The chaos suite (SPEC §15): the real `okta-sim` and `okta-connector serve` programs over real
        // sockets, killed and faulted; a few minutes by default, longer with CHAOS_SECONDS.
        .testTarget(
            name: "ChaosTests",
            dependencies: [
                "okta-connector", "okta-sim", "ConnectorDomain", "ConnectorStore", "ConnectorTestSupport",
                "PostgreSQLStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConnectorDomainTests",
            dependencies: ["ConnectorDomain", "ConnectorTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConnectorConfigurationTests",
            dependencies: ["ConnectorConfiguration", "ConnectorDomain"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OktaSimulatorTests",
            dependencies: [
                "OktaSimulator", "ConnectorDomain", "ConnectorTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConnectorStoreTests",
            dependencies: [
                "ConnectorStore", "SQLiteStore", "ConnectorDomain", "PostgreSQLStore", "ConnectorTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
