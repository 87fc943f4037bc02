import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdGraph
import SwiftdNetwork
import SwiftdSystem

extension Daemon {
    /// `GET /containers/json`: running containers (all with `all=1`), newest first, narrowed by
    /// `filters` and cut to `limit` (which, as in dockerd, also includes stopped containers).
    func listContainers(_ job: Job) async throws {
        let filters = try FilterArguments(
            json: job.environment["filters"],
            allowed: [
                "ancestor", "before", "exited", "expose", "health", "id", "isolation", "is-task", "label",
                "name", "network", "publish", "since", "status",
            ])
        let limit = Int(job.environment["limit"] ?? "") ?? -1
        let all = job.environment.bool("all") || limit > 0
        let statuses = filters["status"] ?? []
        let known = ["created", "restarting", "running", "removing", "paused", "exited", "dead"]
        if let wrong = statuses.first(where: { !known.contains($0) }) {
            throw SwiftdError(.invalidArgument, "invalid filter 'status=\(wrong)'")
        }
        let exitCodes = try (filters["exited"] ?? []).map { value -> Int in
            guard let code = Int(value) else {
                throw SwiftdError(.invalidArgument, "invalid filter 'exited=\(value)': expected an integer")
            }
            return code
        }
        let ancestors = try (filters["ancestor"] ?? []).map { try graph.image($0).id }
        let before = try filters["before"].map { try $0.map { try container($0).record.created } }
        let since = try filters["since"].map { try $0.map { try container($0).record.created } }
        let published = try (filters["publish"] ?? []).map { try PortFilter(parsing: $0, key: "publish") }
        let exposed = try (filters["expose"] ?? []).map { try PortFilter(parsing: $0, key: "expose") }

        var entries: [[UInt8]] = []
        var resolvedNames: [String: String?] = [:]
        let encoder = JSONEncoder()
        for container in allContainers().reversed() {
            let record = container.record
            let state = record.state
            // Filtering by status or exit code shows stopped containers as well, as dockerd does.
            guard all || container.isRunning || !statuses.isEmpty || !exitCodes.isEmpty else { continue }
            if !statuses.isEmpty && !statuses.contains(state.Status) { continue }
            if !exitCodes.isEmpty && (state.Status != "exited" || !exitCodes.contains(Int(state.ExitCode))) { continue }
            if let ids = filters["id"], !ids.contains(where: { record.id.hasPrefix($0) }) { continue }
            if let names = filters["name"], !names.contains(where: { record.name.contains($0.trimmingCharacters(in: ["/"])) }) {
                continue
            }
            if !filters.labelsMatch(record.config.Labels) { continue }
            if !ancestors.isEmpty && !ancestors.contains(record.imageID) { continue }
            if let before, !before.allSatisfy({ record.created < $0 }) { continue }
            if let since, !since.allSatisfy({ record.created > $0 }) { continue }
            if let networks = filters["network"] {
                let mode = record.hostConfig.NetworkMode ?? "default"
                let name = mode == "default" ? "bridge" : mode
                if !networks.contains(name) && !networks.contains(record.networkName) { continue }
            }
            if !published.isEmpty {
                // As dockerd: the host side of the ports published now.
                let ports = portSummaries(record).compactMap { port in
                    port.PublicPort.map { ExposedPort(port: $0, proto: port.Type) }
                }
                if !published.contains(where: { filter in ports.contains(where: filter.matches) }) { continue }
            }
            if !exposed.isEmpty {
                let ports = exposedPorts(record.config) + publishedContainerPorts(record)
                if !exposed.contains(where: { filter in ports.contains(where: filter.matches) }) { continue }
            }
            // swiftd has no health checks, no swarm tasks and one isolation.
            if let health = filters["health"], !health.contains("none") { continue }
            if let task = try filters.bool("is-task"), task { continue }
            if let isolation = filters["isolation"], !isolation.contains("default") { continue }
            let entry = try container.listEntry(image: { listedImage($0, resolved: &resolvedNames) }) {
                record, status, image in
                var summary = summary(record, status: status)
                summary.Image = image
                return Array(try encoder.encode(summary))
            }
            entries.append(entry)
            if limit > 0 && entries.count == limit { break }
        }
        // The array as JSONEncoder writes one: no spaces between the entries.
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(entries.reduce(2) { $0 + $1.count + 1 })
        for (index, entry) in entries.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json += entry
        }
        json.append(UInt8(ascii: "]"))
        try await job.stdout.write(json)
    }

    /// Returns the image of a list entry as dockerd shows it: the name the container was
    /// created with while that name still refers to the container's image, else the image ID.
    /// `resolved` keeps the image ID of each name already looked up in this listing (nil for a
    /// name that refers to no image), because most containers share a few image names.
    private func listedImage(_ record: ContainerRecord, resolved: inout [String: String?]) -> String {
        let current: String?
        if let known = resolved[record.imageName] {
            current = known
        } else {
            current = try? graph.image(record.imageName).id
            resolved[record.imageName] = .some(current)
        }
        guard current == record.imageID else { return record.imageID }
        return record.imageName
    }

    /// Returns the container ports that `PortBindings` publishes and those published now (`-P`),
    /// which `expose` also matches, as in dockerd.
    private func publishedContainerPorts(_ record: ContainerRecord) -> [ExposedPort] {
        let bound = (record.hostConfig.PortBindings ?? [:]).keys.compactMap(ContainerFiles.parsePortKey)
        let live = portSummaries(record).filter { $0.PublicPort != nil }.map {
            ExposedPort(port: $0.PrivatePort, proto: $0.Type)
        }
        return bound + live
    }
}

/// A `publish` or `expose` filter of the container list: `PORT`, `START-END`, either with
/// `/PROTO` (tcp when left out), as dockerd parses them.
struct PortFilter {
    let ports: ClosedRange<Int>
    let proto: String

    /// - Throws: `SwiftdError(.invalidArgument)` for a value that is not a port or a range.
    init(parsing value: String, key: String) throws {
        let parts = value.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        proto = parts.count == 2 ? parts[1].lowercased() : "tcp"
        let bounds = parts[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { Int($0) }
        guard !bounds.isEmpty, bounds.allSatisfy({ $0 != nil && (1...65535).contains($0!) }),
            let first = bounds.first!, let last = bounds.last!, first <= last,
            ["tcp", "udp", "sctp"].contains(proto)
        else {
            throw SwiftdError(
                .invalidArgument, "invalid filter '\(key)=\(value)': expected PORT or START-END, with /tcp or /udp")
        }
        ports = first...last
    }

    func matches(_ port: ExposedPort) -> Bool {
        port.proto == proto && ports.contains(port.port)
    }
}
