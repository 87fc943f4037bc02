import Foundation
import SwiftdAPI
import SwiftdArchive
import SwiftdEngine
import SwiftdGraph
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The header that carries a path's stat for `HEAD` and `GET /containers/{id}/archive`.
let pathStatHeader = "X-Docker-Container-Path-Stat"

/// A path's stat as `docker cp` reads it from `X-Docker-Container-Path-Stat`.
struct ContainerPathStat: Encodable {
    var name: String
    var size: Int64
    /// Go's `os.FileMode`: the permission bits plus Go's own type and special bits.
    var mode: UInt32
    /// RFC 3339 with fractional seconds.
    var mtime: String
    /// The fully resolved target inside the container, for a symbolic link; otherwise empty.
    var linkTarget: String
}

extension Daemon {
    /// Registers the `docker cp` handlers: the stat, the archive and the extraction of a path
    /// in a container, running or stopped.
    func registerCopyHandlers() throws {
        try engine.register("container_stat_path") { [self] job in
            let (path, name, container) = try copyRequest(job)
            try await withFileSystem(container) { fileSystem in
                let (_, stat) = try self.statPath(path, in: fileSystem, containerName: name)
                job.environment[pathStatHeader] = try encode(stat)
            }
            job.environment["statusCode"] = "200"
        }
        try engine.register("container_archive") { [self] job in
            let (path, name, container) = try copyRequest(job)
            try await withFileSystem(container) { fileSystem in
                let (location, stat) = try self.statPath(path, in: fileSystem, containerName: name)
                job.environment[pathStatHeader] = try encode(stat)
                // `/.` and `/` archive the directory's contents under the names dockerd uses.
                let directoryItself = path.baseName == "." || path.isRoot
                let source = directoryItself ? location.hostPath + "/." : location.hostPath
                try await streamFile(job) { file in
                    try TarArchive.write(path: source, as: path.archiveName, to: file)
                }
            }
            emit(container, "archive-path")
        }
        try engine.register("container_extract") { [self] job in
            try await extract(job)
        }
    }

    /// `PUT /containers/{id}/archive?path=`: extracts the request's tar into a directory of the
    /// container, which must exist and be writable.
    private func extract(_ job: Job) async throws {
        let (path, name, container) = try copyRequest(job)
        try await withFileSystem(container) { fileSystem in
            // The last component is followed too, so a link to a directory is a target.
            let location = try fileSystem.location(
                of: try fileSystem.resolve(path.requested, followLast: true))
            var info = stat()
            if lstat(location.hostPath, &info) != 0 {
                throw missingPath(path, containerName: name, errno: errno, host: location.hostPath)
            }
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw SwiftdError(.invalidArgument, "extraction point is not a directory")
            }
            if location.readOnly {
                let holder =
                    location.mountRoot == fileSystem.rootfs ? "container rootfs" : "mounted volume"
                throw SwiftdError(.forbidden, "\(holder) is marked read-only")
            }

            var options = ExtractOptions(layer: false)
            options.confinedTo = location.mountRoot
            options.noOverwriteDirNonDir = job.environment.bool("noOverwriteDirNonDir")
            options.stripsLeadingSlash = true
            if job.environment.bool("copyUIDGID") {
                options.owner = try copyOwner(container.record.config.User)
            }
            // NOTE: the body goes to a file under the root first, so the copy needs that much
            // free disk there. Extracting from the socket as the body arrives would not.
            let spool = try await spoolBody(job, prefix: "cp")
            defer { try? FileSystem.remove(spool) }
            // Extraction writes into the container as it goes and cannot be undone, so a
            // truncated or corrupt archive is refused before the first entry is written.
            try TarArchive.check(file: spool)
            _ = try TarArchive.extract(file: spool, into: location.hostPath, options: options)
        }
        job.environment["statusCode"] = "200"
        emit(container, "extract-to-dir")
    }

    /// Reads the `path` query and the container of a copy request.
    private func copyRequest(_ job: Job) throws -> (ArchivePath, String, Container) {
        let path = try ArchivePath(job.environment["path"])
        let name = try job.argument("name")
        return (path, name, try container(name))
    }

    /// Runs `body` with the container's file system, mounting the rootfs of a stopped
    /// container for the time being.
    ///
    /// TODO: mounts below the rootfs of a running container that are not in its mount points
    /// (`/etc/hosts`, `/etc/resolv.conf`, `/dev`, `/proc`) are read from the rootfs
    /// underneath, and a directory archive does not descend into volumes mounted below it.
    ///
    /// TODO: count the rootfs mount's users. A container's exit cleanup, or a second copy,
    /// can unmount the rootfs while this copy still reads it.
    private func withFileSystem<T>(
        _ container: Container, _ body: (ContainerFileSystem) async throws -> T
    ) async throws -> T {
        let wasRunning = container.isRunning
        let rootfs = try graph.mountContainer(id: container.id)
        defer {
            if !wasRunning && !container.isRunning { try? graph.unmountContainer(id: container.id) }
        }
        let record = container.record
        let fileSystem = ContainerFileSystem(
            rootfs: rootfs, readOnlyRootfs: record.hostConfig.ReadonlyRootfs ?? false,
            mounts: record.mountPoints ?? [])
        return try await body(fileSystem)
    }

    /// Resolves `path` as `docker cp` does (a final link is followed only after `/` or `/.`)
    /// and returns where it is and its stat.
    ///
    /// - Throws: `SwiftdError(.notFound)` for a missing path; as
    ///   `ContainerFileSystem.resolve(_:followLast:)`.
    private func statPath(
        _ path: ArchivePath, in fileSystem: ContainerFileSystem, containerName: String
    )
        throws -> (ContainerFileSystem.Location, ContainerPathStat)
    {
        let components = try fileSystem.resolve(path.requested, followLast: path.namesDirectory)
        let location = try fileSystem.location(of: components)
        // A trailing slash requires a directory, so that `lstat` of `file/` fails.
        let probe = path.namesDirectory ? location.hostPath + "/" : location.hostPath
        var info = Glibc.stat()
        if lstat(probe, &info) != 0 {
            throw missingPath(path, containerName: containerName, errno: errno, host: probe)
        }
        var linkTarget = ""
        if (info.st_mode & S_IFMT) == S_IFLNK {
            let target = try fileSystem.resolve(path.requested, followLast: true)
            linkTarget = "/" + target.joined(separator: "/")
        }
        let modified = Date(
            timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
        let stat = ContainerPathStat(
            name: path.baseName, size: Int64(info.st_size), mode: goFileMode(info.st_mode),
            mtime: timestamp(modified), linkTarget: linkTarget)
        return (location, stat)
    }

    /// Maps a failed `lstat` to its error: 404 for a missing path, in dockerd's words.
    private func missingPath(
        _ path: ArchivePath, containerName: String, errno code: Int32, host: String
    )
        -> any Error
    {
        guard code == ENOENT || code == ENOTDIR else {
            return SystemCallError(call: "lstat", subject: host, errno: code)
        }
        return SwiftdError(
            .notFound, "Could not find the file \(path.requested) in container \(containerName)")
    }

    /// Returns the owner for `copyUIDGID`: the container's user, or nil (keep the archive's
    /// owners) when it runs as root by default.
    ///
    /// TODO: resolve user and group names through the container's /etc/passwd and /etc/group;
    /// only numeric uid[:gid] is understood so far, as for starting the container.
    private func copyOwner(_ user: String) throws -> (uid: UInt32, gid: UInt32)? {
        guard !user.isEmpty else { return nil }
        let parts = user.split(separator: ":")
        guard let uid = UInt32(parts[0]), parts.count < 2 || UInt32(parts[1]) != nil else {
            throw SwiftdError(
                .unsupported, "user \(user): only numeric uid[:gid] is supported so far")
        }
        return (uid, parts.count > 1 ? UInt32(parts[1]) ?? 0 : 0)
    }
}

/// Encodes the stat as base64 JSON, as the header carries it.
private func encode(_ stat: ContainerPathStat) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    return try encoder.encode(stat).base64EncodedString()
}

/// Converts `st_mode` to Go's `os.FileMode`, whose type bits differ from the kernel's.
func goFileMode(_ mode: mode_t) -> UInt32 {
    var result = UInt32(mode & 0o777)
    switch mode & S_IFMT {
    case S_IFDIR: result |= 1 << 31
    case S_IFLNK: result |= 1 << 27
    case S_IFBLK: result |= 1 << 26
    case S_IFCHR: result |= 1 << 26 | 1 << 21
    case S_IFIFO: result |= 1 << 25
    case S_IFSOCK: result |= 1 << 24
    default: break
    }
    if mode & S_ISUID != 0 { result |= 1 << 23 }
    if mode & S_ISGID != 0 { result |= 1 << 22 }
    if mode & S_ISVTX != 0 { result |= 1 << 20 }
    return result
}
