import Foundation
import SwiftdAPI
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A container's file system as its processes see it, reached from the host: the mounted
/// rootfs with the container's binds and volumes over it.
///
/// Paths resolve component by component the way the kernel would walk them inside the
/// container (the semantics of `openat2` with `RESOLVE_IN_ROOT`): a symbolic link's absolute
/// target starts again at the container's `/`, and `..` stops there, so no path leaves the
/// rootfs or the sources of the container's mounts.
///
/// NOTE: a running container can swap a checked directory for a symbolic link between the
/// walk and the use of its result. dockerd closes that race by copying from a chroot in the
/// container's mount namespace, and swiftd does not do that yet.
struct ContainerFileSystem {
    /// The host path of the mounted rootfs.
    let rootfs: String
    let readOnlyRootfs: Bool
    /// The container's mounts, longest destination first.
    let mounts: [MountPoint]

    init(rootfs: String, readOnlyRootfs: Bool, mounts: [MountPoint]) {
        self.rootfs = rootfs
        self.readOnlyRootfs = readOnlyRootfs
        self.mounts = mounts.sorted {
            Self.components($0.Destination).count > Self.components($1.Destination).count
        }
    }

    /// The host location of a resolved container path.
    struct Location {
        /// The resolved path inside the container, absolute.
        var containerPath: String
        var hostPath: String
        /// Whether the rootfs or the mount holding the path is read-only.
        var readOnly: Bool
        /// The host directory that the path's file system is rooted at: the rootfs, or the
        /// source of the mount holding it.
        var mountRoot: String
    }

    /// Splits `path` into components, dropping empty and `.` parts.
    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    /// Maps the already resolved container path `components` to its host location.
    ///
    /// - Throws: `SwiftdError(.unsupported)` for a path on a tmpfs mount, which lives only in
    ///   the container's mount namespace.
    func location(of components: [String]) throws -> Location {
        let containerPath = "/" + components.joined(separator: "/")
        for mount in mounts {
            let destination = Self.components(mount.Destination)
            guard components.starts(with: destination) else { continue }
            guard mount.Type != "tmpfs" else {
                // TODO: reach tmpfs mounts through the container's mount namespace.
                throw SwiftdError(
                    .unsupported,
                    "copying files on the tmpfs mount \(mount.Destination) is not supported")
            }
            let rest = components.dropFirst(destination.count)
            let host =
                rest.isEmpty ? mount.Source : mount.Source + "/" + rest.joined(separator: "/")
            return Location(
                containerPath: containerPath, hostPath: host, readOnly: !mount.RW,
                mountRoot: mount.Source)
        }
        let host = components.isEmpty ? rootfs : rootfs + "/" + components.joined(separator: "/")
        return Location(
            containerPath: containerPath, hostPath: host, readOnly: readOnlyRootfs,
            mountRoot: rootfs)
    }

    /// Resolves `path` (absolute, or relative to `/`) inside the container. Symbolic links in
    /// every component are followed, and in the last one only with `followLast`.
    ///
    /// A missing component ends the checks: the rest is appended as given, so the caller's
    /// `lstat` reports it missing.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` after 40 symbolic links;
    ///   `SystemCallError` from `lstat` or `readlink` for other errors than a missing file;
    ///   as `location(of:)`.
    func resolve(_ path: String, followLast: Bool) throws -> [String] {
        var resolved: [String] = []
        var pending = Array(path.split(separator: "/").map(String.init).reversed())
        var links = 0
        var exists = true
        while let part = pending.popLast() {
            if part.isEmpty || part == "." { continue }
            if part == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            let candidate = resolved + [part]
            let isLast = pending.allSatisfy { $0.isEmpty || $0 == "." }
            if !exists || (isLast && !followLast) {
                resolved = candidate
                continue
            }
            let host = try location(of: candidate).hostPath
            var info = stat()
            if lstat(host, &info) != 0 {
                let code = errno
                guard code == ENOENT || code == ENOTDIR else {
                    throw SystemCallError(call: "lstat", subject: host, errno: code)
                }
                exists = false
                resolved = candidate
                continue
            }
            guard (info.st_mode & S_IFMT) == S_IFLNK else {
                resolved = candidate
                continue
            }
            links += 1
            if links > 40 {
                throw SwiftdError(.invalidArgument, "\(path): too many levels of symbolic links")
            }
            let target = try FileSystem.readLink(host)
            if target.hasPrefix("/") { resolved = [] }
            pending += target.split(separator: "/").map(String.init).reversed()
        }
        return resolved
    }
}

/// A `docker cp` path inside a container and how its archive entries are named.
struct ArchivePath {
    /// The path as the request gave it.
    let requested: String

    /// Rejects an empty path (400), as dockerd does.
    init(_ path: String?) throws {
        guard let path, !path.isEmpty else {
            throw SwiftdError(.invalidArgument, "path is empty")
        }
        guard !path.utf8.contains(0) else {
            throw SwiftdError(.invalidArgument, "path contains a NUL byte")
        }
        requested = path
    }

    /// A path ending in `/` or `/.` names a directory's contents, and follows a final link.
    var namesDirectory: Bool {
        requested.hasSuffix("/") || requested.hasSuffix("/.") || requested == "."
    }

    /// The container's `/` itself, not its contents (`/.`).
    var isRoot: Bool { cleaned == "/" && baseName != "." }

    /// The name of the resource as `stat` reports it: the last component of the cleaned path,
    /// `.` for a path ending in `/.`, and `/` for the root.
    var baseName: String {
        if requested.hasSuffix("/.") || requested == "." { return "." }
        return cleaned.split(separator: "/").last.map(String.init) ?? "/"
    }

    /// The archive name of the resource's own entry, as dockerd names it: `baseName`, or
    /// nothing for the root, whose entries are then named `/bin`, `/etc` and so on.
    var archiveName: String { isRoot ? "" : baseName }

    /// The path made absolute, with `.` and `..` removed lexically, as Go's `filepath.Clean`.
    var cleaned: String {
        var parts: [String] = []
        for part in requested.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(String(part))
        }
        return "/" + parts.joined(separator: "/")
    }
}
