import Foundation
import Hummingbird
import KafkaStreams
import Prometheus

/// Health and metrics: what an orchestrator and Prometheus ask.
struct OperationsRoutes: Sendable {
    let app: StreamsApp
    let me: HostInfo
    let registry: PrometheusCollectorRegistry

    func add(to router: Router<BasicRequestContext>) {
        // Live while the process serves HTTP at all.
        router.get("/health/live") { _, _ in "live\n" }
        router.get("/health/ready") { _, _ -> Response in
            let readiness = readiness()
            return Response(
                status: readiness.ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(readiness))))
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    /// Ready once every stream thread runs with its stores restored, and the instances'
    /// view shows this one's tasks as they are (until then a query for one of its keys
    /// would be answered "ask again").
    func readiness() -> Readiness {
        let threads = app.metadataForLocalThreads()
        let states = Dictionary(uniqueKeysWithValues: threads.map { ($0.threadName, $0.state == .running ? "running" : "starting") })
        let running = !threads.isEmpty && threads.allSatisfy { $0.state == .running }
        let known = (try? app.allMetadata())?.first { $0.hostInfo == me }?.activeTasks == app.activeTasks
        return Readiness(ready: running && known, threads: states)
    }
}
