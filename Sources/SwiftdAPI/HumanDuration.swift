import Foundation

/// Describes a duration as docker does in `Up 3 hours` and `2 weeks ago`: seconds, minutes,
/// hours, days below two weeks, weeks below two months, months below two years, then years.
/// Hours are rounded to the nearest hour, and longer units are whole (moby's go-units
/// `HumanDuration`).
public func humanDuration(_ duration: TimeInterval) -> String {
    let seconds = Int(duration)
    if seconds < 1 { return "Less than a second" }
    if seconds == 1 { return "1 second" }
    if seconds < 60 { return "\(seconds) seconds" }
    let minutes = seconds / 60
    if minutes == 1 { return "About a minute" }
    if minutes < 60 { return "\(minutes) minutes" }
    let hours = Int((duration / 3600).rounded(.toNearestOrAwayFromZero))
    if hours == 1 { return "About an hour" }
    if hours < 48 { return "\(hours) hours" }
    if hours < 24 * 7 * 2 { return "\(hours / 24) days" }
    if hours < 24 * 30 * 2 { return "\(hours / 24 / 7) weeks" }
    if hours < 24 * 365 * 2 { return "\(hours / 24 / 30) months" }
    return "\(seconds / 3600 / 24 / 365) years"
}
