import Foundation

/// `--to-datetime`: an ISO 8601 date and time, with or without fractional seconds and a
/// zone (UTC when it has none).
enum DateArgument {
    static func millisecondsSinceEpoch(_ text: String) -> Int64? {
        let hasZone = text.hasSuffix("Z") || text.range(of: #"[+-]\d\d:?\d\d$"#, options: .regularExpression) != nil
        let zoned = hasZone ? text : text + "Z"
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: zoned) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        return nil
    }
}

/// `--by-duration`: an ISO 8601 duration of days, hours, minutes and seconds (`P1DT2H`,
/// `PT30M`, `PT1.5S`), as Kafka's tool takes it.
enum DurationArgument {
    static func parse(_ text: String) -> Duration? {
        let pattern = #"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"#
        guard text != "P", text != "PT", let match = text.wholeMatch(of: try! Regex(pattern)) else { return nil }
        func number(_ index: Int) -> Double {
            guard let range = match.output[index].range else { return 0 }
            return Double(text[range]) ?? 0
        }
        let seconds = number(1) * 86_400 + number(2) * 3_600 + number(3) * 60 + number(4)
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
