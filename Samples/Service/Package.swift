// swift-tools-version:6.0
import PackageDescription

// A microservice built on the library: its own package, so that the library's build stays
// free of an HTTP server. It depends on the library by path.
let package = Package(
    name: "streams-service",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "streams-service", targets: ["StreamsService"])
    ],
    dependencies: [
        .package(name: "swift-kafka-streams", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "ServiceCore",
            dependencies: [
                .product(name: "KafkaStreams", package: "swift-kafka-streams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "StreamsService",
            dependencies: [
                "ServiceCore",
                .product(name: "KafkaStreams", package: "swift-kafka-streams"),
                .product(name: "KafkaStreamsTesting", package: "swift-kafka-streams"),
                .product(name: "RdKafka", package: "swift-kafka-streams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "ServiceCore",
                .product(name: "KafkaStreams", package: "swift-kafka-streams"),
                .product(name: "KafkaStreamsTesting", package: "swift-kafka-streams"),
                .product(name: "RdKafka", package: "swift-kafka-streams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ]
)
