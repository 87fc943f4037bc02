import Foundation
import Synchronization
import SwiftdAPI
import SwiftdEngine
import SwiftdExec
import SwiftdSystem

/// A volume as the volume API shows it.
struct Volume: Codable, Sendable {
    var Name: String
    var Driver: String
    var Mountpoint: String
    var CreatedAt: String
    var Labels: [String: String]
    var Scope: String
    var Options: [String: String]
}

/// Named and anonymous volumes of the `local` driver: `<root>/volumes/NAME/_data`, with the
/// metadata in `<root>/volumes/NAME/volume.json`.
final class VolumeStore: Sendable {
    /// The label dockerd puts on anonymous volumes, which prune removes by default.
    static let anonymousLabel = "com.docker.volume.anonymous"

    let directory: String
    /// Serialises creation and removal, which check and change the directory together.
    private let lock = Mutex<Void>(())
    /// The handler called with each volume that `create` makes, for its `create` event.
    private let created = Mutex<@Sendable (Volume) -> Void>({ _ in })

    /// Sets the handler called with each new volume, whichever request created it.
    func onCreate(_ handler: @escaping @Sendable (Volume) -> Void) {
        created.withLock { $0 = handler }
    }

    /// Creates `directory` if missing.
    ///
    /// - Throws: `SystemCallError` from `mkdir`.
    init(directory: String) throws {
        self.directory = directory
        try FileSystem.createDirectory(directory, mode: 0o700)
    }

    /// Whether `name` is a valid volume name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, as dockerd's.
    static func isValidName(_ name: String) -> Bool {
        NameGenerator.isValid(name)
    }

    /// Returns the volume `name`, creating it if missing (a create of an existing volume
    /// returns it unchanged, as dockerd does).
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for an invalid name, `SystemCallError` from
    ///   the file system.
    func create(name: String, labels: [String: String] = [:]) throws -> Volume {
        guard Self.isValidName(name) else {
            throw SwiftdError(
                .invalidArgument,
                "create \(name): \"\(name)\" includes invalid characters for a local volume "
                    + "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed")
        }
        let outcome = try lock.withLock { _ -> (volume: Volume, isNew: Bool) in
            if let existing = try? read(name) { return (existing, false) }
            let path = "\(directory)/\(name)"
            try FileSystem.createDirectory(path, mode: 0o701)
            try FileSystem.createDirectory("\(path)/_data", mode: 0o755)
            let volume = Volume(
                Name: name, Driver: "local", Mountpoint: "\(path)/_data",
                CreatedAt: timestamp(), Labels: labels, Scope: "local", Options: [:])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try FileSystem.writeAtomically("\(path)/volume.json", Array(try encoder.encode(volume)))
            return (volume, true)
        }
        if outcome.isNew {
            let handler = created.withLock { $0 }
            handler(outcome.volume)
        }
        return outcome.volume
    }

    /// Creates an anonymous volume with a random 64-hex-digit name.
    ///
    /// - Throws: as `create`.
    func createAnonymous() throws -> Volume {
        try create(name: randomID(), labels: [Self.anonymousLabel: ""])
    }

    /// Reads the volume `name`.
    ///
    /// - Throws: `SwiftdError(.notFound)` when there is no such volume.
    func read(_ name: String) throws -> Volume {
        guard Self.isValidName(name),
            let bytes = try? FileSystem.read("\(directory)/\(name)/volume.json"),
            let volume = try? JSONDecoder().decode(Volume.self, from: Data(bytes))
        else {
            throw SwiftdError(.notFound, "get \(name): no such volume")
        }
        return volume
    }

    /// Every volume, by name.
    func all() -> [Volume] {
        let names = (try? FileSystem.list(directory)) ?? []
        return names.sorted().compactMap { try? read($0) }
    }

    /// Removes the volume and its data; `inUse` is checked under the store's lock.
    ///
    /// - Throws: `SwiftdError(.notFound)`, `.conflict` when `inUse` names containers,
    ///   `SystemCallError` from the removal.
    func remove(_ name: String, inUse: () -> [String]) throws {
        try lock.withLock { _ in
            _ = try read(name)
            let users = inUse()
            if !users.isEmpty {
                throw SwiftdError(
                    .conflict,
                    "remove \(name): volume is in use - [\(users.joined(separator: ", "))]")
            }
            try FileSystem.removeTree("\(directory)/\(name)")
        }
    }
}

extension Daemon {
    /// Registers the volume API: create, list, inspect, remove, prune.
    func registerVolumeHandlers() throws {
        volumes.onCreate { [events] volume in
            events.emit(type: "volume", action: "create", id: volume.Name, attributes: ["driver": "local"])
        }
        try engine.register("volume_create") { [self] job in
            let body = job.environment["body"].map { Data($0.utf8) } ?? Data("{}".utf8)
            let request = try JSONDecoder().decode(VolumeCreateRequest.self, from: body)
            if let driver = request.Driver, !driver.isEmpty, driver != "local" {
                throw SwiftdError(.notFound, "plugin \"\(driver)\" not found")
            }
            if let options = request.DriverOpts, !options.isEmpty {
                // TODO: the local driver's type/device/o options (mounting a device).
                throw SwiftdError(.unsupported, "local volume options are not supported yet")
            }
            let name = request.Name.flatMap { $0.isEmpty ? nil : $0 }
            let volume = try name.map { try volumes.create(name: $0, labels: request.Labels ?? [:]) }
                ?? volumes.createAnonymous()
            try await job.stdout.write(Array(try Self.volumeEncoder.encode(volume)))
        }
        try engine.register("volumes") { [self] job in
            let list = VolumeList(Volumes: volumes.all(), Warnings: [])
            try await job.stdout.write(Array(try Self.volumeEncoder.encode(list)))
        }
        try engine.register("volume_inspect") { [self] job in
            let volume = try volumes.read(try job.argument("name"))
            try await job.stdout.write(Array(try Self.volumeEncoder.encode(volume)))
        }
        try engine.register("volume_delete") { [self] job in
            let name = try job.argument("name")
            try volumes.remove(name) { containersUsing(volume: name) }
            events.emit(type: "volume", action: "destroy", id: name, attributes: ["driver": "local"])
        }
        try engine.register("volumes_prune") { [self] job in
            let all = job.environment["filters"].map { $0.contains("\"all\"") && $0.contains("true") }
                ?? false
            var deleted: [String] = []
            for volume in volumes.all() {
                guard all || volume.Labels[VolumeStore.anonymousLabel] != nil else { continue }
                do {
                    try volumes.remove(volume.Name) { containersUsing(volume: volume.Name) }
                    deleted.append(volume.Name)
                    events.emit(type: "volume", action: "destroy", id: volume.Name, attributes: ["driver": "local"])
                } catch let error as SwiftdError where error.kind == .conflict {
                    continue
                }
            }
            let report = VolumePruneReport(VolumesDeleted: deleted, SpaceReclaimed: 0)
            try await job.stdout.write(Array(try JSONEncoder().encode(report)))
        }
    }

    /// Encodes volume documents with plain slashes in paths, as dockerd writes them.
    static var volumeEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The IDs of the containers (running or not) that mount the volume `name`.
    func containersUsing(volume name: String) -> [String] {
        allContainers().filter { container in
            (container.record.mountPoints ?? []).contains { $0.Type == "volume" && $0.Name == name }
        }.map(\.id)
    }

    /// Resolves a create request's `-v`, `--mount` and the image's `Volumes` into the
    /// container's mount points, creating named and anonymous volumes as needed and bind
    /// sources of `-v` that are missing (as dockerd does for `Binds`).
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for a malformed spec, a relative or duplicate
    ///   destination, or a missing `--mount` bind source; `SystemCallError` from creating.
    func resolveMounts(_ hostConfig: HostConfig, imageVolumes: [String]) throws -> [MountPoint] {
        var points: [MountPoint] = []
        func add(_ point: MountPoint) throws {
            guard point.Destination.hasPrefix("/"), point.Destination != "/" else {
                throw SwiftdError(
                    .invalidArgument,
                    "invalid mount config: mount path must be absolute and not /: "
                        + point.Destination)
            }
            let destination = normalize(point.Destination)
            if points.contains(where: { normalize($0.Destination) == destination }) {
                throw SwiftdError(.invalidArgument, "Duplicate mount point: \(destination)")
            }
            points.append(point)
        }
        for spec in hostConfig.Binds ?? [] {
            try add(try bindPoint(spec))
        }
        for request in hostConfig.Mounts ?? [] {
            try add(try mountPoint(request))
        }
        for path in imageVolumes.sorted() {
            let destination = normalize(path)
            if points.contains(where: { normalize($0.Destination) == destination }) { continue }
            let volume = try volumes.createAnonymous()
            try add(
                MountPoint(
                    type: "volume", name: volume.Name, source: volume.Mountpoint,
                    destination: destination, driver: "local"))
        }
        return points
    }

    private func normalize(_ path: String) -> String {
        "/" + path.split(separator: "/").joined(separator: "/")
    }

    /// Parses one `-v` entry: `HOST:CTR[:OPTS]`, `NAME:CTR[:OPTS]` or `CTR`.
    private func bindPoint(_ spec: String) throws -> MountPoint {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), !parts.contains(where: \.isEmpty) else {
            throw SwiftdError(.invalidArgument, "invalid volume specification: '\(spec)'")
        }
        if parts.count == 1 {
            let volume = try volumes.createAnonymous()
            return MountPoint(
                type: "volume", name: volume.Name, source: volume.Mountpoint,
                destination: parts[0], driver: "local")
        }
        let mode = parts.count == 3 ? parts[2] : ""
        var readWrite = true
        for option in mode.split(separator: ",") {
            switch option {
            case "ro": readWrite = false
            case "rw", "z", "Z", "nocopy", "rprivate", "private", "rslave", "slave": break
            default:
                throw SwiftdError(
                    .invalidArgument, "invalid mode: \(option) in volume specification '\(spec)'")
            }
        }
        if parts[0].hasPrefix("/") {
            let source = normalize(parts[0])
            if !FileManager.default.fileExists(atPath: source) {
                try FileSystem.createDirectory(source, mode: 0o755)
            }
            return MountPoint(
                type: "bind", source: source, destination: parts[1], mode: mode,
                readWrite: readWrite)
        }
        let volume = try volumes.create(name: parts[0])
        return MountPoint(
            type: "volume", name: volume.Name, source: volume.Mountpoint, destination: parts[1],
            driver: "local", mode: mode, readWrite: readWrite)
    }

    /// Converts one `--mount` entry.
    private func mountPoint(_ request: MountRequest) throws -> MountPoint {
        guard let target = request.Target, !target.isEmpty else {
            throw SwiftdError(.invalidArgument, "invalid mount config: Target must not be empty")
        }
        let readWrite = request.ReadOnly != true
        let mode = readWrite ? "" : "ro"
        switch request.Type ?? "volume" {
        case "bind":
            guard let source = request.Source, source.hasPrefix("/") else {
                throw SwiftdError(
                    .invalidArgument, "invalid mount config for type \"bind\": "
                        + "invalid mount path: '\(request.Source ?? "")' mount path must be absolute")
            }
            guard FileManager.default.fileExists(atPath: source) else {
                throw SwiftdError(
                    .invalidArgument,
                    "invalid mount config for type \"bind\": bind source path does not exist: "
                        + source)
            }
            return MountPoint(
                type: "bind", source: normalize(source), destination: target, mode: mode,
                readWrite: readWrite)
        case "volume":
            let volume = try request.Source.flatMap { $0.isEmpty ? nil : $0 }
                .map { try volumes.create(name: $0) } ?? volumes.createAnonymous()
            return MountPoint(
                type: "volume", name: volume.Name, source: volume.Mountpoint, destination: target,
                driver: "local", mode: mode, readWrite: readWrite)
        case "tmpfs":
            var options: [String] = []
            if let size = request.TmpfsOptions?.SizeBytes, size > 0 { options.append("size=\(size)") }
            if let mode = request.TmpfsOptions?.Mode {
                options.append("mode=" + String(mode, radix: 8))
            }
            return MountPoint(
                type: "tmpfs", source: "", destination: target,
                mode: options.joined(separator: ","), readWrite: readWrite)
        case let other:
            throw SwiftdError(.invalidArgument, "invalid mount config: mount type unknown: \"\(other)\"")
        }
    }

    /// The exec driver's mounts for the container's mount points, in order.
    func specMounts(_ record: ContainerRecord) -> [Mount] {
        (record.mountPoints ?? []).map { point in
            let access = point.RW ? "rw" : "ro"
            if point.Type == "tmpfs" {
                let options = point.Mode.split(separator: ",").map(String.init)
                return Mount(
                    source: "tmpfs", destination: point.Destination, kind: .tmpfs,
                    options: options + [access])
            }
            return Mount(
                source: point.Source, destination: point.Destination, kind: .bind,
                options: [access])
        }
    }

    /// `rm -v`: removes the container's anonymous volumes that no other container uses.
    func removeAnonymousVolumes(of record: ContainerRecord) {
        for point in record.mountPoints ?? [] where point.Type == "volume" {
            guard let name = point.Name, let volume = try? volumes.read(name),
                volume.Labels[VolumeStore.anonymousLabel] != nil
            else { continue }
            do {
                try volumes.remove(name) { containersUsing(volume: name) }
            } catch {
                log.warning("removing an anonymous volume failed", [("volume", name), ("error", "\(error)")])
            }
        }
    }
}

/// `POST /volumes/create`'s request.
struct VolumeCreateRequest: Codable, Sendable {
    var Name: String?
    var Driver: String?
    var DriverOpts: [String: String]?
    var Labels: [String: String]?
}

/// `GET /volumes`'s response.
struct VolumeList: Codable, Sendable {
    var Volumes: [Volume]
    var Warnings: [String]
}

/// `POST /volumes/prune`'s response.
struct VolumePruneReport: Codable, Sendable {
    var VolumesDeleted: [String]
    var SpaceReclaimed: Int64
}
