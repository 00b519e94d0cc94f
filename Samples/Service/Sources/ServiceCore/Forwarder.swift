import Foundation
import Hummingbird
import KafkaStreams

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends a query on to the instance that holds its key, and hands back that instance's
/// answer. The forwarded request carries `forwarded=true`: an instance that gets one for a
/// key it does not hold (its view was stale) answers 503 rather than forwarding again.
struct Forwarder: Sendable {
    let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        session = URLSession(configuration: configuration)
    }

    func get<Answer: Decodable>(_ type: Answer.Type, from host: HostInfo, path: String, query: [URLQueryItem]) async throws -> Answer {
        var components = URLComponents()
        components.scheme = "http"
        components.host = host.host
        components.port = host.port
        components.path = path
        components.queryItems = query + [URLQueryItem(name: "forwarded", value: "true")]
        guard let url = components.url else { throw HTTPError(.internalServerError, message: "cannot address \(host)") }
        let (data, response) = try await session.data(from: url)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 502
        guard status == 200 else {
            let message = String(decoding: data, as: UTF8.self)
            throw HTTPError(.init(code: status), message: "\(host) answered \(status): \(message)")
        }
        return try JSONDecoder().decode(Answer.self, from: data)
    }
}
