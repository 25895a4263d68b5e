// swift-tools-version:6.1
import PackageDescription

/// Swift 6 language mode everywhere, with the upcoming features the Hummingbird project uses.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "okta-connector",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "okta-connector", targets: ["okta-connector"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
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
        // Durable state: users, inbox, outbox, dead letters, runs, schedule state.
        // Protocols plus the SQLite backend.
        .target(
            name: "ConnectorStore",
            dependencies: [
                "ConnectorDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The thin executable: parse arguments, build the parts, run.
        .executableTarget(
            name: "okta-connector",
            dependencies: [
                "ConnectorDomain",
                "ConnectorConfiguration",
                "ConnectorStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConnectorDomainTests",
            dependencies: ["ConnectorDomain"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConnectorConfigurationTests",
            dependencies: ["ConnectorConfiguration", "ConnectorDomain"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConnectorStoreTests",
            dependencies: [
                "ConnectorStore", "ConnectorDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
