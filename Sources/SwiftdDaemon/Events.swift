import Foundation
import Synchronization
import SwiftdEngine
import SwiftdSystem

/// One event, in the Engine API's `EventMessage` shape with the legacy `status`/`id`/`from`.
struct Event: Codable, Sendable {
    struct ActorInfo: Codable, Sendable {
        var ID: String
        var Attributes: [String: String]
    }

    var `Type`: String
    var Action: String
    var Actor: ActorInfo
    var scope: String
    var time: Int64
    var timeNano: Int64
    var status: String?
    var id: String?
    var from: String?
}

/// The event log: recent events kept in memory, and live subscribers.
final class EventLog: Sendable {
    /// How many past events are kept for `since` queries (dockerd keeps 256 as well).
    static let capacity = 256

    private struct State {
        var recent: [Event] = []
        var subscribers: [UUID: AsyncStream<Event>.Continuation] = [:]
    }

    private let state = Mutex(State())

    /// Records an event and sends it to every subscriber.
    func emit(type: String, action: String, id: String, attributes: [String: String] = [:]) {
        let now = Date().timeIntervalSince1970
        let nanos = Int64(now * 1_000_000_000)
        var event = Event(
            Type: type, Action: action, Actor: .init(ID: id, Attributes: attributes), scope: "local",
            time: nanos / 1_000_000_000, timeNano: nanos)
        if type == "container" || type == "image" {
            event.status = action
            event.id = id
            event.from = attributes["image"]
        }
        let subscribers = state.withLock { state in
            state.recent.append(event)
            if state.recent.count > Self.capacity { state.recent.removeFirst(state.recent.count - Self.capacity) }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(event) }
    }

    /// Returns the kept events, and a stream of later ones; the two never overlap or miss one.
    func subscribe() -> (past: [Event], live: AsyncStream<Event>) {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let key = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: key) }
        }
        let past = state.withLock { state in
            state.subscribers[key] = continuation
            return state.recent
        }
        return (past, stream)
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}

/// The `filters` of `GET /events`: type, container, image, event, label.
struct EventFilter {
    var values: [String: [String]] = [:]

    /// Parses the API's filter JSON: `{"type":["container"]}` or the older `{"type":{"container":true}}`.
    init(json: String?) throws {
        values = try FilterArguments(
            json: json,
            allowed: ["type", "container", "image", "event", "label", "network", "volume", "daemon", "scope"]
        ).values
    }

    /// Reports whether `event` passes every filter; values of one filter are alternatives.
    func matches(_ event: Event) -> Bool {
        for (key, accepted) in values where !accepted.isEmpty {
            let passes: Bool
            switch key {
            case "type": passes = accepted.contains(event.Type)
            case "event": passes = accepted.contains(event.Action)
            case "container":
                passes = event.Type == "container" && accepted.contains { value in
                    event.Actor.ID.hasPrefix(value) || event.Actor.Attributes["name"] == value
                }
            case "image":
                let image = event.Type == "image" ? event.Actor.ID : event.Actor.Attributes["image"] ?? ""
                passes = accepted.contains { value in
                    image == value || image.hasPrefix(value) || image == value + ":latest"
                        || event.Actor.Attributes["name"] == value
                }
            case "label":
                passes = accepted.contains { label in
                    let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
                    guard let value = event.Actor.Attributes[parts[0]] else { return false }
                    return parts.count == 1 || value == parts[1]
                }
            case "scope": passes = accepted.contains(event.scope)
            default: passes = false
            }
            if !passes { return false }
        }
        return true
    }
}

/// Parses an events `since`/`until` value: Unix seconds (with an optional fraction) or RFC 3339.
/// Returns nanoseconds since the epoch.
func parseEventTime(_ text: String, name: String) throws -> Int64 {
    if let seconds = Double(text) { return Int64(seconds * 1_000_000_000) }
    if let date = parseTimestamp(text) { return Int64(date.timeIntervalSince1970 * 1_000_000_000) }
    throw SwiftdError(.invalidArgument, "invalid \(name) \(text): expected Unix seconds or an RFC 3339 time")
}

extension Daemon {
    /// Registers the `events`, `log` and `subscribers_count` jobs.
    func registerEventHandlers() throws {
        try engine.register("events") { [self] job in try await streamEvents(job) }
        // `log` records an event: arguments are type, action, id, then attribute `key=value`s.
        try engine.register("log") { [self] job in
            guard job.arguments.count >= 3 else {
                throw SwiftdError(.invalidArgument, "usage: log TYPE ACTION ID [KEY=VALUE...]")
            }
            var attributes: [String: String] = [:]
            for pair in job.arguments.dropFirst(3) {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                attributes[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            events.emit(type: job.arguments[0], action: job.arguments[1], id: job.arguments[2], attributes: attributes)
        }
        try engine.register("subscribers_count") { [self] job in
            try await job.stdout.write("\(events.subscriberCount)")
        }
    }

    private func streamEvents(_ job: Job) async throws {
        let filter = try EventFilter(json: job.environment["filters"])
        let since = try job.environment["since"].flatMap { $0.isEmpty ? nil : try parseEventTime($0, name: "since") }
        let until = try job.environment["until"].flatMap { $0.isEmpty ? nil : try parseEventTime($0, name: "until") }
        let (past, live) = events.subscribe()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Send the head now, so clients see the stream start before the first event.
        try await job.stdout.write([])
        func send(_ event: Event) async throws -> Bool {
            if let until, event.timeNano > until { return false }
            if filter.matches(event) {
                try await job.stdout.write(Array(try encoder.encode(event)) + [10])
            }
            return true
        }
        if let since {
            for event in past where event.timeNano >= since {
                guard try await send(event) else { return }
            }
        }
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        if let until, until <= now { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in live {
                    guard try await send(event) else { return }
                }
            }
            if let until {
                group.addTask { try await Task.sleep(for: .nanoseconds(until - now)) }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }
}
