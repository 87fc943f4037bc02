import CArchive
import SwiftdArchive
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The layout of container file systems.
public enum StorageDriver: String, Codable, Sendable, CaseIterable {
    /// An overlay mount of the image's layers under a per-container upper directory.
    case overlay2
    /// A full copy of the image's layers per container, for file systems where overlayfs
    /// does not work. Creating a container costs a copy of its image, and `changes` and
    /// `commit` compare the copy with the image file by file.
    case vfs

    /// Reports whether an overlay mount works in `directory` (which must exist), by mounting
    /// and unmounting a small one there. Blocks for a few milliseconds.
    public static func overlaySupported(in directory: String) -> Bool {
        let probe = directory + "/tmp-probe-" + randomHex(8)
        defer {
            try? Mounts.unmount(probe + "/merged", detach: true)
            try? FileSystem.removeTree(probe)
        }
        do {
            for part in ["lower", "upper", "work", "merged"] {
                try FileSystem.createDirectory(probe + "/" + part, mode: 0o700)
            }
            try Mounts.mount(
                "overlay", at: probe + "/merged", type: "overlay",
                data: "lowerdir=\(probe)/lower,upperdir=\(probe)/upper,workdir=\(probe)/work")
            return true
        } catch {
            return false
        }
    }
}

extension Graph {
    /// Returns the vfs container's rootfs directory.
    func vfsRoot(_ id: String) -> String { overlayRoot + "/" + id + "/rootfs" }

    /// Copies the layers (bottom first) into `target`, applying their whiteouts and opaque
    /// directories as overlayfs would show them. Blocks for the whole copy.
    ///
    /// - Throws: `SystemCallError` naming the call and the path that failed.
    func composeLayers(_ layers: [String], into target: String) throws {
        for layer in layers {
            var copier = LayerCopier(source: layer, target: target)
            try copier.apply("")
        }
    }

    /// Lists a vfs container's changes, sorted by path, by comparing its rootfs with the
    /// image's layers. New paths are added. Paths whose type, mode, owner, size, mtime or link
    /// target differ are changed. Paths gone from the rootfs are deleted, only the topmost of
    /// a deleted tree. The parent of an added or deleted path is listed as changed.
    func vfsChanges(_ id: String) throws -> [Change] {
        let (_, lower) = try containerDirectories(id)
        var image = ImageView()
        for layer in lower.reversed() { try image.add(layer: layer, "") }

        var changes: [String: ChangeKind] = [:]
        var present: Set<String> = []
        func markParent(of path: String) {
            let parent = FileSystem.parent(of: path)
            if changes[parent] == nil { changes[parent] = .changed }
        }
        func walk(_ relative: String) throws {
            let rootfs = vfsRoot(id)
            for name in try FileSystem.list(rootfs + relative) {
                let path = relative + "/" + name
                let info = try lstatOrThrow(rootfs + path)
                present.insert(path)
                if let before = image.entries[path] {
                    if !FileFacts(info, path: rootfs + path).sameContent(as: before) {
                        changes[path] = .changed
                    }
                } else {
                    changes[path] = .added
                    markParent(of: path)
                }
                if (info.st_mode & S_IFMT) == S_IFDIR { try walk(path) }
            }
        }
        try walk("")
        for path in image.entries.keys where !present.contains(path) {
            let parent = FileSystem.parent(of: path)
            guard parent == "/" || present.contains(parent) else { continue }
            changes[path] = .deleted
            markParent(of: path)
        }
        changes["/"] = nil
        return changes.keys.sorted().map { Change(path: $0, kind: changes[$0]!) }
    }

    /// Writes a vfs container's changes as a layer tar at `tar`: changed and added paths as
    /// they are in the rootfs, deleted ones as whiteouts. Blocks.
    func writeVFSChanges(_ id: String, to tar: String) throws {
        let rootfs = vfsRoot(id)
        let staging = overlayRoot + "/tmp-stage-" + randomHex(16)
        defer { try? FileSystem.removeTree(staging) }
        try FileSystem.createDirectory(staging, mode: 0o755)
        var stagedDirectories: [String] = []
        for change in try vfsChanges(id) {
            try stageParents(of: change.path, from: rootfs, in: staging, &stagedDirectories)
            let target = staging + change.path
            if change.kind == .deleted {
                // A 0/0 character device: the overlay whiteout the tar writer turns into `.wh.`.
                if mknod(target, S_IFCHR | 0o600, 0) != 0 {
                    throw SystemCallError(call: "mknod", subject: target, errno: errno)
                }
                continue
            }
            let source = rootfs + change.path
            let info = try lstatOrThrow(source)
            if (info.st_mode & S_IFMT) == S_IFDIR {
                if !FileSystem.isDirectory(target) {
                    try FileSystem.createDirectory(target, mode: 0o700)
                    stagedDirectories.append(change.path)
                }
            } else if link(source, target) != 0 {
                // Hard links keep the rootfs's file, owner and times without a copy.
                var copier = LayerCopier(source: rootfs, target: staging)
                try copier.copyEntry(change.path, info)
            }
        }
        // Directory metadata last, deepest first, so that adding entries does not change it.
        for path in stagedDirectories.sorted(by: >) {
            try copyMetadata(from: rootfs + path, to: staging + path, lstatOrThrow(rootfs + path))
        }
        try TarArchive.write(directory: staging, to: tar, overlayWhiteouts: true)
    }

    /// Creates the missing parent directories of `path` in `staging`.
    private func stageParents(
        of path: String, from rootfs: String, in staging: String, _ staged: inout [String]
    ) throws {
        var missing: [String] = []
        var parent = FileSystem.parent(of: path)
        while parent != "/" && !FileSystem.isDirectory(staging + parent) {
            missing.append(parent)
            parent = FileSystem.parent(of: parent)
        }
        for directory in missing.reversed() {
            try FileSystem.createDirectory(staging + directory, mode: 0o700)
            staged.append(directory)
        }
    }

    /// Returns the bytes that a vfs container's changed and added files take.
    func vfsChangedSize(_ id: String) throws -> Int64 {
        let rootfs = vfsRoot(id)
        var total: Int64 = 0
        for change in try vfsChanges(id) where change.kind != .deleted {
            let info = try lstatOrThrow(rootfs + change.path)
            if (info.st_mode & S_IFMT) == S_IFREG { total += Int64(info.st_size) }
        }
        return total
    }
}

/// The facts about a file that the vfs comparison looks at.
private struct FileFacts {
    var type: mode_t
    var mode: mode_t
    var owner: (uid_t, gid_t)
    var size: Int
    var modified: timespec
    var device: dev_t
    var linkTarget: String?

    init(_ info: stat, path: String) {
        type = info.st_mode & S_IFMT
        mode = info.st_mode & 0o7777
        owner = (info.st_uid, info.st_gid)
        size = info.st_size
        modified = info.st_mtim
        device = info.st_rdev
        linkTarget = type == S_IFLNK ? try? readLink(path) : nil
    }

    /// Compares what a copy keeps; a directory's size is left out, because it depends on the
    /// file system and on entries removed earlier.
    func sameContent(as other: FileFacts) -> Bool {
        type == other.type && mode == other.mode && owner == other.owner
            && (type == S_IFDIR || size == other.size)
            && modified.tv_sec == other.modified.tv_sec
            && modified.tv_nsec == other.modified.tv_nsec && device == other.device
            && linkTarget == other.linkTarget
    }
}

/// The image as overlayfs would show it, path by path, built from layer directories.
private struct ImageView {
    var entries: [String: FileFacts] = [:]

    mutating func add(layer: String, _ relative: String) throws {
        for name in try FileSystem.list(layer + relative) {
            let path = relative + "/" + name
            let info = try lstatOrThrow(layer + path)
            let type = info.st_mode & S_IFMT
            if type == S_IFCHR && info.st_rdev == 0 {
                removeTree(path)
                continue
            }
            if type == S_IFDIR {
                if TarArchive.isOpaqueDirectory(layer + path) || entries[path]?.type != S_IFDIR {
                    removeTree(path)
                }
                entries[path] = FileFacts(info, path: layer + path)
                try add(layer: layer, path)
            } else {
                removeTree(path)
                entries[path] = FileFacts(info, path: layer + path)
            }
        }
    }

    private mutating func removeTree(_ path: String) {
        entries[path] = nil
        let prefix = path + "/"
        for key in entries.keys where key.hasPrefix(prefix) { entries[key] = nil }
    }
}

/// Copies one layer directory onto a target tree with overlay semantics.
private struct LayerCopier {
    let source: String
    let target: String
    /// The first copy of each multiply-linked source inode, so that hard links stay links.
    var links: [InodeKey: String] = [:]

    struct InodeKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    init(source: String, target: String) {
        self.source = source
        self.target = target
    }

    mutating func apply(_ relative: String) throws {
        for name in try FileSystem.list(source + relative) {
            let path = relative + "/" + name
            let info = try lstatOrThrow(source + path)
            let type = info.st_mode & S_IFMT
            let existing = lstatIfPresent(target + path)
            if type == S_IFCHR && info.st_rdev == 0 {
                if existing != nil { try FileSystem.removeTree(target + path) }
                continue
            }
            if type == S_IFDIR {
                let keep = existing.map { ($0.st_mode & S_IFMT) == S_IFDIR } ?? false
                if existing != nil && (!keep || TarArchive.isOpaqueDirectory(source + path)) {
                    try FileSystem.removeTree(target + path)
                }
                if !FileSystem.isDirectory(target + path) {
                    try FileSystem.createDirectory(target + path, mode: 0o700)
                }
                try apply(path)
                try copyMetadata(from: source + path, to: target + path, info)
                continue
            }
            if existing != nil { try FileSystem.removeTree(target + path) }
            try copyEntry(path, info)
        }
    }

    /// Copies a non-directory entry, which must not exist in the target yet.
    mutating func copyEntry(_ path: String, _ info: stat) throws {
        let from = source + path
        let to = target + path
        let key = InodeKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        if info.st_nlink > 1, let first = links[key] {
            if Glibc.link(first, to) != 0 {
                throw SystemCallError(call: "link", subject: "\(first) to \(to)", errno: errno)
            }
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: try copyFile(from, to)
        case S_IFLNK:
            if symlink(try readLink(from), to) != 0 {
                throw SystemCallError(call: "symlink", subject: to, errno: errno)
            }
        default:
            if mknod(to, info.st_mode, info.st_rdev) != 0 {
                throw SystemCallError(call: "mknod", subject: to, errno: errno)
            }
        }
        try copyMetadata(from: from, to: to, info)
        if info.st_nlink > 1 { links[key] = to }
    }

    private func copyFile(_ from: String, _ to: String) throws {
        let input = try retryingInterrupts("open", from) { open(from, O_RDONLY | O_CLOEXEC) }
        defer { close(input) }
        let output = try retryingInterrupts("open", to) {
            open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", from) { read(input, raw.baseAddress, raw.count) }
            }
            if count == 0 { return }
            try FileSystem.writeAll(output, Array(buffer[0..<count]), subject: to)
        }
    }
}

/// Gives `to` the owner, mode, extended attributes (but overlayfs's own) and times of the
/// source whose `lstat` is `info`.
private func copyMetadata(from: String, to: String, _ info: stat) throws {
    let isLink = (info.st_mode & S_IFMT) == S_IFLNK
    if lchown(to, info.st_uid, info.st_gid) != 0 {
        throw SystemCallError(call: "lchown", subject: to, errno: errno)
    }
    // After chown, which clears the set-user-ID and set-group-ID bits.
    if !isLink && chmod(to, info.st_mode & 0o7777) != 0 {
        throw SystemCallError(call: "chmod", subject: to, errno: errno)
    }
    try copyExtendedAttributes(from: from, to: to)
    var times = [info.st_atim, info.st_mtim]
    if utimensat(AT_FDCWD, to, &times, AT_SYMLINK_NOFOLLOW) != 0 {
        throw SystemCallError(call: "utimensat", subject: to, errno: errno)
    }
}

private func copyExtendedAttributes(from: String, to: String) throws {
    let size = llistxattr(from, nil, 0)
    guard size > 0 else { return }
    var names = [CChar](repeating: 0, count: size)
    let listed = llistxattr(from, &names, size)
    guard listed > 0 else { return }
    for name in names[0..<listed].split(separator: 0).map({ String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) })
    where !name.hasPrefix("trusted.overlay.") {
        let length = lgetxattr(from, name, nil, 0)
        guard length >= 0 else { continue }
        var value = [UInt8](repeating: 0, count: length)
        let read = lgetxattr(from, name, &value, length)
        guard read >= 0 else { continue }
        if lsetxattr(to, name, value, read, 0) != 0 {
            throw SystemCallError(call: "lsetxattr", subject: "\(to) \(name)", errno: errno)
        }
    }
}

private func lstatOrThrow(_ path: String) throws -> stat {
    var info = stat()
    if lstat(path, &info) != 0 {
        throw SystemCallError(call: "lstat", subject: path, errno: errno)
    }
    return info
}

private func readLink(_ path: String) throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink(path, &buffer, buffer.count - 1)
    guard count >= 0 else { throw SystemCallError(call: "readlink", subject: path, errno: errno) }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

private func lstatIfPresent(_ path: String) -> stat? {
    var info = stat()
    return lstat(path, &info) == 0 ? info : nil
}
