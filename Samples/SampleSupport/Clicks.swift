/// A click as the web front end writes it to `clicks` (JSON, keyed by user id): the
/// events of the `click-events` sample and of the README's first topology.
public struct Click: Codable, Sendable {
    public enum Kind: String, Codable, Sendable { case pageView = "page_view", button }
    public var user: String
    public var kind: Kind
    public var page: String
    public var userAgent: String

    public init(user: String, kind: Kind, page: String, userAgent: String) {
        self.user = user
        self.kind = kind
        self.page = page
        self.userAgent = userAgent
    }
}

/// A click after enrichment: the site section it belongs to, and whether it came from a
/// phone.
public struct EnrichedClick: Codable, Sendable {
    public var user: String
    public var page: String
    public var section: String
    public var mobile: Bool
}

/// Adds the section (the first path component, "home" for `/`) and whether the user agent
/// is a phone's.
@Sendable public func enrich(_ click: Click) -> EnrichedClick {
    let section = click.page.split(separator: "/").first.map(String.init) ?? "home"
    return EnrichedClick(user: click.user, page: click.page, section: section, mobile: click.userAgent.contains("Mobile"))
}
