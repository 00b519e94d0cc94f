// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-kafka-streams",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RdKafka", targets: ["RdKafka"]),
        .library(name: "RocksDB", targets: ["RocksDB"]),
        .library(name: "KafkaStreams", targets: ["KafkaStreams"]),
        .library(name: "KafkaStreamsTesting", targets: ["KafkaStreamsTesting"]),
        .executable(name: "embedded-kafka", targets: ["EmbeddedKafka"]),
        .executable(name: "hello-kafka", targets: ["HelloKafka"]),
        .executable(name: "click-events", targets: ["ClickEvents"]),
        .executable(name: "word-count", targets: ["WordCount"]),
        .executable(name: "orders-dashboard", targets: ["OrdersDashboard"]),
        .executable(name: "fraud-alerts", targets: ["FraudAlerts"]),
        .executable(name: "streams-bench", targets: ["StreamsBench"]),
        .executable(name: "streams-chaos", targets: ["StreamsChaos"]),
        .executable(name: "streams-reset", targets: ["StreamsReset"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        // `swift package generate-documentation` (make docs); a plugin, not linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // System libraries: the only places C headers enter the package.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"]), .brew(["librdkafka"])]
        ),
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"]), .brew(["rocksdb"])]
        ),
        // RocksDB's C API (7.x) cannot share a write-buffer budget between databases;
        // this C++ shim exposes WriteBufferManager through two C functions.
        .target(
            name: "CRocksDBSupport",
            dependencies: ["CRocksDB"],
            linkerSettings: [.linkedLibrary("stdc++")]
        ),

        // Thin, safe Swift wrappers.
        .target(
            name: "RdKafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "RocksDB",
            dependencies: ["CRocksDB", "CRocksDBSupport"]
        ),

        // The stream processor: DSL -> Topology -> Runtime.
        .target(
            name: "KafkaStreams",
            dependencies: [
                "RdKafka",
                "RocksDB",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "KafkaStreamsTesting",
            dependencies: ["KafkaStreams", "RdKafka", .product(name: "Logging", package: "swift-log")]
        ),

        // Executables.
        .executableTarget(
            name: "EmbeddedKafka",
            dependencies: [
                "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "HelloKafka",
            dependencies: [
                "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Samples/HelloKafka"
        ),
        .target(
            name: "SampleSupport",
            dependencies: [
                "KafkaStreams", "KafkaStreamsTesting", "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Samples/SampleSupport"
        ),
        .executableTarget(
            name: "WordCount",
            dependencies: [
                "KafkaStreams", "SampleSupport", "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Samples/WordCount"
        ),
        .executableTarget(
            name: "OrdersDashboard",
            dependencies: [
                "KafkaStreams", "SampleSupport", "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Samples/OrdersDashboard"
        ),
        .executableTarget(
            name: "FraudAlerts",
            dependencies: [
                "KafkaStreams", "SampleSupport", "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Samples/FraudAlerts"
        ),
        .executableTarget(
            name: "ClickEvents",
            dependencies: [
                "KafkaStreams", "SampleSupport", "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Samples/ClickEvents"
        ),
        .target(
            name: "CBaseline",
            dependencies: ["CRdKafka", "CRocksDB"],
            path: "Benchmarks/CBaseline"
        ),
        .executableTarget(
            name: "StreamsBench",
            dependencies: [
                "RdKafka", "RocksDB", "KafkaStreams", "CBaseline",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/StreamsBench"
        ),

        // The exactly-once proof: a scenario shared by `streams-chaos` and the tests.
        .target(
            name: "ChaosScenarios",
            dependencies: ["KafkaStreams", "KafkaStreamsTesting", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "StreamsChaos",
            dependencies: [
                "ChaosScenarios", "KafkaStreams", "KafkaStreamsTesting", "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "StreamsReset",
            dependencies: [
                "KafkaStreams", "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(name: "RdKafkaTests", dependencies: ["RdKafka"]),
        .testTarget(name: "RocksDBTests", dependencies: ["RocksDB"]),
        .testTarget(
            name: "KafkaStreamsTests",
            dependencies: [
                "KafkaStreams", "KafkaStreamsTesting", "RdKafka", "ChaosScenarios", "SampleSupport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
