import SwiftdAPI

/// Formats the PORTS column of `ps` as the docker CLI does (its `DisplayablePorts`).
///
/// Ports are sorted by container port, address, host port and protocol. Runs of consecutive
/// ports that are only exposed, or published on the same host port, join into one range
/// (`80-82/tcp`, `0.0.0.0:80-81->80-81/tcp`). Ports published on another host port are listed
/// one by one after the ranges.
func formatPorts(_ ports: [ContainerSummary.Port]) -> String {
    let sorted = ports.sorted { left, right in
        if left.PrivatePort != right.PrivatePort { return left.PrivatePort < right.PrivatePort }
        if (left.IP ?? "") != (right.IP ?? "") { return (left.IP ?? "") < (right.IP ?? "") }
        if (left.PublicPort ?? 0) != (right.PublicPort ?? 0) { return (left.PublicPort ?? 0) < (right.PublicPort ?? 0) }
        return left.Type < right.Type
    }
    var ranges: [String: ClosedRange<Int>] = [:]
    var order: [String] = []
    var result: [String] = []
    var mappings: [String] = []
    for port in sorted {
        var key = port.Type
        if let address = port.IP, !address.isEmpty {
            if port.PublicPort != port.PrivatePort {
                let host = address.contains(":") ? "[\(address)]" : address
                mappings.append("\(host):\(port.PublicPort ?? 0)->\(port.PrivatePort)/\(port.Type)")
                continue
            }
            key = "\(address)/\(port.Type)"
        }
        guard let range = ranges[key] else {
            ranges[key] = port.PrivatePort...port.PrivatePort
            order.append(key)
            continue
        }
        if port.PrivatePort == range.upperBound + 1 {
            ranges[key] = range.lowerBound...port.PrivatePort
            continue
        }
        result.append(portGroup(key, range))
        ranges[key] = port.PrivatePort...port.PrivatePort
    }
    result += order.compactMap { key in ranges[key].map { portGroup(key, $0) } }
    return (result + mappings).joined(separator: ", ")
}

/// Formats one range of `formatPorts`: `80/tcp`, `80-82/tcp` or `IP:80-81->80-81/tcp`.
private func portGroup(_ key: String, _ range: ClosedRange<Int>) -> String {
    let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
    var group = range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
    if parts.count == 2 { group = "\(parts[0]):\(group)->\(group)" }
    return "\(group)/\(parts.last ?? "tcp")"
}

/// Formats the IMAGE column of `ps` as the docker CLI does. The daemon sends the image ID when
/// the container's image name now refers to another image, and the column shortens an ID to
/// its first 12 hex digits unless `truncate` is off. A name stays as given.
func displayedImage(_ container: ContainerSummary, truncate: Bool) -> String {
    if container.Image.isEmpty { return "<no image>" }
    guard truncate, container.Image.hasPrefix("sha256:") else { return container.Image }
    return String(container.Image.dropFirst("sha256:".count).prefix(12))
}
