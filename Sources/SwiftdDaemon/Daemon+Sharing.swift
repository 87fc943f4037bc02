import SwiftdAPI
import SwiftdExec
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// `--ipc`, `--pid`, `--uts` and `--volumes-from`: what a container shares with the host or
/// with another container.
extension Daemon {
    /// Checks the namespace modes of a create request and stores `container:NAME` as
    /// `container:ID`. With `--uts host` the container's host name is the host's.
    ///
    /// - Throws: `.invalidArgument` for an unknown mode or a host name set with `--uts host`;
    ///   `.notFound` for an unknown container.
    func checkNamespaceModes(
        _ host: inout HostConfig, config: inout ContainerConfig, requestedHostname: String?
    ) throws {
        host.IpcMode = try normalizeMode(
            host.IpcMode, kind: "IPC", plain: ["", "none", "private", "shareable", "host"])
        host.PidMode = try normalizeMode(host.PidMode, kind: "PID", plain: ["", "host"])
        host.UTSMode = try normalizeMode(host.UTSMode, kind: "UTS", plain: ["", "host"])
        let hostnameRequested = !(requestedHostname ?? "").isEmpty
        if host.UTSMode == "host" {
            if hostnameRequested {
                throw SwiftdError(.invalidArgument, "conflicting options: hostname and the UTS mode")
            }
            config.Hostname = Self.hostName() ?? config.Hostname
        }
        let networkMode = host.NetworkMode ?? ""
        if networkMode == "host" && !hostnameRequested {
            // As dockerd: a container on the host's network is named as the host.
            config.Hostname = Self.hostName() ?? config.Hostname
        }
        if networkMode.hasPrefix("container:") {
            if hostnameRequested {
                throw SwiftdError(.invalidArgument, "conflicting options: hostname and the network mode")
            }
            let target = try container(String(networkMode.dropFirst("container:".count)))
            config.Hostname = target.record.config.Hostname
            config.Domainname = target.record.config.Domainname
        }
    }

    /// Returns the host's name, from gethostname(2).
    static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func normalizeMode(_ mode: String?, kind: String, plain: Set<String>) throws -> String? {
        guard let mode else { return nil }
        if plain.contains(mode) { return mode }
        if mode.hasPrefix("container:") {
            let name = String(mode.dropFirst("container:".count))
            guard !name.isEmpty else { throw SwiftdError(.invalidArgument, "invalid \(kind) mode: \(mode)") }
            return "container:\(try container(name).id)"
        }
        throw SwiftdError(.invalidArgument, "invalid \(kind) mode: \(mode)")
    }

    /// Sets the spec's IPC, UTS and PID namespaces from the container's modes; `--ipc host`
    /// also binds the host's /dev/shm, as dockerd does, and `--ipc none` leaves /dev/shm out.
    ///
    /// - Throws: `.notFound` for a container that is gone, `.conflict` for one that does not
    ///   run, `.invalidArgument` for joining the IPC namespace of a container whose mode is
    ///   `private` or `none`.
    func applyNamespaceModes(_ host: HostConfig, to spec: inout ContainerSpec) throws {
        spec.ipcNamespace = try namespaceMode(host.IpcMode, kind: "ipc")
        spec.mountsShm = host.IpcMode != "none"
        spec.utsNamespace = try namespaceMode(host.UTSMode, kind: "uts")
        spec.pidNamespace = try namespaceMode(host.PidMode, kind: "pid")
        if spec.ipcNamespace == .host {
            spec.mounts.append(Mount(source: "/dev/shm", destination: "/dev/shm", kind: .bind))
        }
        // TODO: --ipc container:NAME shares System V IPC but not the other container's
        // /dev/shm, because a bind mount cannot reach into another mount namespace.
    }

    private func namespaceMode(_ mode: String?, kind: String) throws -> NamespaceMode {
        guard let mode else { return .new }
        if mode == "host" { return .host }
        guard mode.hasPrefix("container:") else { return .new }
        let other = try container(String(mode.dropFirst("container:".count)))
        let pid = other.record.state.Pid
        guard other.isRunning, pid > 0 else {
            throw SwiftdError(.conflict, "cannot join \(kind.uppercased()) of a non running container: \(other.id)")
        }
        // NOTE: dockerd's default IPC mode is private, so its containers are not joinable
        // unless created shareable; swiftd keeps a container without a mode joinable.
        if kind == "ipc", ["private", "none"].contains(other.record.hostConfig.IpcMode) {
            throw SwiftdError(
                .invalidArgument,
                "container \(other.id): non-shareable IPC (hint: use IpcMode:shareable for the donor container)")
        }
        return .join("/proc/\(pid)/ns/\(kind)")
    }

    /// Collects the volumes and binds of each `VolumesFrom` container (`CONTAINER[:ro|rw]`).
    /// A mode of `ro` makes them read-only; `rw` or none keeps each one's own mode.
    ///
    /// - Throws: `.notFound` for an unknown container, `.invalidArgument` for another mode.
    func inheritedMounts(_ host: HostConfig) throws -> [MountPoint] {
        var points: [MountPoint] = []
        for entry in host.VolumesFrom ?? [] {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(parts.count), !parts[0].isEmpty else {
                throw SwiftdError(.invalidArgument, "invalid VolumesFrom \(entry): use CONTAINER[:ro|rw]")
            }
            let mode = parts.count == 2 ? parts[1] : ""
            guard ["", "ro", "rw"].contains(mode) else {
                throw SwiftdError(.invalidArgument, "invalid mode: \(mode) in VolumesFrom \(entry)")
            }
            let source = try container(parts[0])
            for var point in source.record.mountPoints ?? [] where point.Type != "tmpfs" {
                if mode == "ro" { point.RW = false }
                points.removeAll { $0.Destination == point.Destination }
                points.append(point)
            }
        }
        return points
    }
}
