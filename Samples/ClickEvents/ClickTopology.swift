import KafkaStreams
import SampleSupport

enum ClickTopology {
    static let input = "clicks"
    static let pageViews = "page-views"
    static let buttonClicks = "button-clicks"
    static let deadLetters = "clicks-dlq"

    /// Parse JSON, drop bots, enrich, split by kind into two topics.
    static func build() throws -> Topology {
        let builder = StreamsBuilder()
        let byKind = builder.stream(input, key: .optional(.string), value: .json(Click.self))
            .filterNot(named: "drop-bots") { _, click in click.userAgent.lowercased().contains("bot") }
            .split(named: "kind-")
            .branch("page-view") { _, click in click.kind == .pageView }
            .defaultBranch("button")
        for (branch, topic) in [("kind-page-view", pageViews), ("kind-button", buttonClicks)] {
            byKind[branch]!
                .mapValues(named: "enrich-\(topic)", enrich)
                .to(topic, named: "write-\(topic)", value: .json(EnrichedClick.self))
        }
        return try builder.build()
    }

    /// Sample traffic: mostly people, some crawlers, and one record that is not JSON.
    static func sampleClicks(count: Int) -> [(key: String, value: String)] {
        let users = ["ada", "grace", "linus", "barbara", "ken"]
        let pages = ["/", "/products/42", "/products/7", "/cart", "/blog/streams"]
        let agents = ["Mozilla/5.0 (iPhone) Mobile", "Mozilla/5.0 (X11; Linux)", "Googlebot/2.1"]
        return (0..<count).map { index in
            let user = users[index % users.count]
            if index == count / 2 { return (user, "{\"user\": \"\(user)\", truncated") }
            let kind = index % 3 == 0 ? "button" : "page_view"
            let json = #"{"user":"\#(user)","kind":"\#(kind)","page":"\#(pages[index % pages.count])","userAgent":"\#(agents[index % agents.count])"}"#
            return (user, json)
        }
    }
}
