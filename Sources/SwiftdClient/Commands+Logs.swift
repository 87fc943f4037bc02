import Foundation
import SwiftdAPI

#if canImport(Glibc)
    import Glibc
#endif

extension Commands {
    /// `swiftd logs [-f] [-t] [--tail N] [--since T] [--until T] CONTAINER`.
    func logs(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-f", "--follow"], takesValue: false), .init(names: ["-t", "--timestamps"], takesValue: false),
            .init(names: ["-n", "--tail"], takesValue: true), .init(names: ["--since"], takesValue: true),
            .init(names: ["--until"], takesValue: true),
        ])
        try flags.parse(arguments)
        guard flags.positional.count == 1, let name = flags.positional.first else {
            throw UsageFailure(message: "requires exactly 1 argument: CONTAINER")
        }
        var query = "stdout=1&stderr=1"
        if flags.bool("-f") { query += "&follow=1" }
        if flags.bool("-t") { query += "&timestamps=1" }
        if let tail = flags.string("-n") { query += "&tail=\(percentEncode(tail))" }
        let now = Date()
        if let since = flags.string("--since") { query += "&since=\(percentEncode(try apiTimestamp(since, now: now)))" }
        if let until = flags.string("--until") { query += "&until=\(percentEncode(try apiTimestamp(until, now: now)))" }
        var demultiplexer = StreamDemultiplexer()
        let response = try client.stream("GET", "/containers/\(percentEncode(name))/logs?\(query)") { bytes in
            demultiplexer.feed(bytes) { kind, payload in
                if kind == .stderr { writeStderrBytes(payload) } else { writeStdout(payload) }
            }
        }
        if response.status >= 400 { throw DaemonFailure(message: response.errorMessage, exitStatus: 1) }
        return 0
    }
}

/// Converts a time flag to the API's Unix seconds, as the docker CLI's `GetTimestamp` does: a
/// Go duration (`10m`, `1h30m`) means that long before `now`; an RFC 3339 date or time, whole
/// or cut after the date, hour or minute, is local time unless it has a zone; Unix seconds
/// pass unchanged.
///
/// - Throws: `UsageFailure` for anything else.
func apiTimestamp(_ text: String, now: Date) throws -> String {
    if text != "0", let seconds = goDuration(text) {
        return String(Int64((now.timeIntervalSince1970 - seconds).rounded(.down)))
    }
    if let (seconds, nanoseconds) = rfc3339Like(text, now: now) {
        return "\(seconds).\(String(repeating: "0", count: 9 - String(nanoseconds).count))\(nanoseconds)"
    }
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    let isDigits = { (part: Substring) in !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber } }
    guard !text.contains("-"), isDigits(parts[0]), parts.count == 1 || isDigits(parts[1]) else {
        throw UsageFailure(message: "failed to parse value as time or duration: \"\(text)\"")
    }
    return text
}

/// Parses a Go duration such as `1h30m`, `1.5h` or `300ms` into seconds; nil when it is not one.
private func goDuration(_ text: String) -> Double? {
    let units: [String: Double] = ["ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600]
    var rest = Substring(text)
    var sign = 1.0
    if rest.first == "-" || rest.first == "+" {
        sign = rest.first == "-" ? -1 : 1
        rest = rest.dropFirst()
    }
    if rest == "0" { return 0 }
    guard !rest.isEmpty else { return nil }
    var total = 0.0
    while !rest.isEmpty {
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        rest = rest.dropFirst(number.count)
        let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
        rest = rest.dropFirst(unit.count)
        guard let value = Double(number), let factor = units[String(unit)] else { return nil }
        total += value * factor
    }
    return sign * total
}

/// Parses `2006-01-02`, optionally followed by `T15`, `T15:04`, `T15:04:05` and a fraction,
/// then optionally `Z` or `±07:00`; without a zone the time is in the local zone at `now`.
private func rfc3339Like(_ text: String, now: Date) -> (seconds: Int64, nanoseconds: Int64)? {
    let pattern = #/^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?([Zz]|[+-]\d{2}:\d{2})?$/#
    guard let match = text.wholeMatch(of: pattern) else { return nil }
    let output = match.output
    var parts = tm()
    parts.tm_year = Int32(output.1)! - 1900
    parts.tm_mon = Int32(output.2)! - 1
    parts.tm_mday = Int32(output.3)!
    parts.tm_hour = output.4.flatMap { Int32($0) } ?? 0
    parts.tm_min = output.5.flatMap { Int32($0) } ?? 0
    parts.tm_sec = output.6.flatMap { Int32($0) } ?? 0
    var seconds = Int64(timegm(&parts))
    var nanoseconds: Int64 = 0
    if let fraction = output.7 {
        nanoseconds = Int64(fraction + String(repeating: "0", count: 9 - fraction.count)) ?? 0
    }
    if let zone = output.8, zone != "Z", zone != "z" {
        let hours = Int64(zone.dropFirst().prefix(2)) ?? 0
        let minutes = Int64(zone.suffix(2)) ?? 0
        seconds -= (hours * 3600 + minutes * 60) * (zone.first == "-" ? -1 : 1)
    } else if output.8 == nil {
        seconds -= Int64(TimeZone.current.secondsFromGMT(for: now))
    }
    return (seconds, nanoseconds)
}
