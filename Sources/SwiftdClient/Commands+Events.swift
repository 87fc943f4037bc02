import Foundation
import SwiftdAPI

extension Commands {
    /// `swiftd events [--since T] [--until T] [--filter KEY=VALUE]... [--format json]`.
    func events(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["--since"], takesValue: true), .init(names: ["--until"], takesValue: true),
            .init(names: ["-f", "--filter"], takesValue: true), .init(names: ["--format"], takesValue: true),
        ])
        try flags.parse(arguments)
        if !flags.positional.isEmpty { throw UsageFailure(message: "events accepts no arguments") }
        let filters = try filterQuery(flags.strings("-f"))
        var query: [String] = []
        if let since = flags.string("--since") { query.append("since=\(percentEncode(try eventTime(since)))") }
        if let until = flags.string("--until") { query.append("until=\(percentEncode(try eventTime(until)))") }
        if !filters.isEmpty {
            let json = String(decoding: try JSONEncoder().encode(filters), as: UTF8.self)
            query.append("filters=\(percentEncode(json))")
        }
        let format = flags.string("--format")
        let raw = ["json", "{{json .}}"].contains(format ?? "")
        let template = try format.flatMap { raw ? nil : try OutputTemplate($0) }
        var pending: [UInt8] = []
        let path = "/events" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        let response = try client.stream("GET", path) { bytes in
            pending += bytes
            while let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                if raw {
                    writeStdout(line + [10])
                } else if let template, var event = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] {
                    // Templates name the fields of docker's Go type (`.Time`, `.ID`), whose JSON
                    // keys are lowercase.
                    for (key, field) in Self.eventFieldNames { event[field] = event[key] }
                    writeStdout(Array(try template.render(all: [event]).utf8))
                } else if let event = try? JSONDecoder().decode(EventLine.self, from: Data(line)) {
                    writeStdout(Array((event.formatted + "\n").utf8))
                }
            }
        }
        if response.status >= 400 { throw DaemonFailure(message: response.errorMessage) }
        return 0
    }

    /// The JSON keys of an event that docker's templates know by another name.
    private static let eventFieldNames = [
        "status": "Status", "id": "ID", "from": "From", "scope": "Scope", "time": "Time", "timeNano": "TimeNano",
    ]

    /// Converts a `--since` or `--until` value as `logs` does: a duration, a time with or
    /// without a zone, or Unix seconds.
    private func eventTime(_ text: String) throws -> String {
        try apiTimestamp(text, now: Date())
    }
}

/// The parts of an event that `swiftd events` prints.
struct EventLine: Decodable {
    struct ActorInfo: Decodable {
        var ID: String
        var Attributes: [String: String]?
    }

    var `Type`: String
    var Action: String
    var Actor: ActorInfo
    var timeNano: Int64

    /// The line docker prints: time, type, action, ID and sorted attributes.
    var formatted: String {
        let seconds = Double(timeNano / 1_000_000_000)
        let formatter = ISO8601DateFormatter()
        let time = formatter.string(from: Date(timeIntervalSince1970: seconds)).dropLast()
        let nanos = String(format: "%09lld", timeNano % 1_000_000_000)
        let attributes = (Actor.Attributes ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let suffix = attributes.isEmpty ? "" : " (\(attributes.joined(separator: ", ")))"
        return "\(time).\(nanos)Z \(Type) \(Action) \(Actor.ID)\(suffix)"
    }
}

/// `--filter KEY=VALUE` flags as the API's `filters` map.
func filterQuery(_ flags: [String]) throws -> [String: [String]] {
    var filters: [String: [String]] = [:]
    for filter in flags {
        let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw UsageFailure(message: "invalid filter \(filter): expected KEY=VALUE") }
        filters[parts[0], default: []].append(parts[1])
    }
    return filters
}

/// The query of `GET /containers/json` for `ps` flags: `-a`, `--filter`, `-n` and `-l`.
func psQuery(_ flags: FlagParser) throws -> String {
    var query = [flags.bool("-a") ? "all=1" : "all=0"]
    var limit = flags.bool("-l") ? 1 : 0
    if let last = flags.string("-n") {
        guard let value = Int(last) else { throw UsageFailure(message: "invalid argument \"\(last)\" for \"-n, --last\": expected an integer") }
        limit = value
    }
    if limit > 0 { query.append("limit=\(limit)") }
    let filters = try filterQuery(flags.strings("-f"))
    if !filters.isEmpty {
        query.append("filters=" + percentEncode(String(decoding: try JSONEncoder().encode(filters), as: UTF8.self)))
    }
    return query.joined(separator: "&")
}
