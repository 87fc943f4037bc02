import Foundation
import SwiftdArchive
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The kind of difference between a path in a container's rootfs and in its image.
public enum ChangeKind: Int, Sendable, Equatable {
    /// `C`: the path was in the image and was modified (the API's 0).
    case changed = 0
    /// `A`: the path is new (the API's 1).
    case added = 1
    /// `D`: the path was removed (the API's 2).
    case deleted = 2
}

/// One changed path of a container, as `GET /containers/{id}/changes` lists it.
public struct Change: Sendable, Equatable, CustomStringConvertible {
    /// The absolute path inside the container, such as `/etc/hosts`.
    public var path: String
    public var kind: ChangeKind

    public init(path: String, kind: ChangeKind) {
        self.path = path
        self.kind = kind
    }

    /// `C /etc`, as `docker diff` prints it.
    public var description: String {
        let letter = switch kind {
        case .changed: "C"
        case .added: "A"
        case .deleted: "D"
        }
        return letter + " " + path
    }
}

extension Graph {
    /// Lists the paths the container changed, read from its overlay upper directory, in the
    /// order and with the rules of Docker's overlay changes. A whiteout (0/0 character
    /// device) is deleted. An opaque directory that exists below is deleted, and its new
    /// children follow as added. A path that exists in an image layer is changed (a
    /// directory only when its size, mode or mtime differ). Anything else is added. The
    /// parent of an added or deleted path is listed as changed. Blocks while it walks.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown container layer; `SystemCallError`
    ///   when a directory cannot be read.
    public func changes(containerID id: String) throws -> [Change] {
        if try isVFSContainer(id) { return try vfsChanges(id) }
        let (upper, lower) = try containerDirectories(id)
        var walker = ChangeWalker(upper: upper, lower: lower)
        try walker.walk("")
        return walker.changes
    }

    /// Makes an image of the container. Its upper directory becomes a new layer on top of
    /// the image's layers, with overlay whiteouts written as `.wh.` entries. `config` (or the
    /// image's own) gives the process defaults, and a history entry records `comment`,
    /// `author` and `createdBy`. The container may be running; files written during the
    /// commit may or may not be in the layer. Blocks while it writes and imports the layer.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown container layer or image;
    ///   `ArchiveError` or `SystemCallError` when the layer cannot be written or imported.
    public func commit(
        containerID id: String, config: ImageConfig.ContainerConfig? = nil,
        comment: String? = nil, author: String? = nil, createdBy: String? = nil
    ) throws -> Image {
        let (upper, _) = try containerDirectories(id)
        let vfs = try isVFSContainer(id)
        let parent = try state.withLock { state in
            guard let record = state.containers[id], let diffIDs = record.layerStack(state) else {
                throw SwiftdError(.notFound, "No such container layer: \(id)")
            }
            // NOTE: when `rmi -f` deleted the image, its config is gone, so the new image
            // gets only the layers, the default platform and `config`.
            return state.images[record.imageID] ?? ImageConfig(rootfs: .init(diffIDs: diffIDs))
        }
        let tar = overlayRoot + "/tmp-commit-" + randomHex(16) + ".tar"
        defer { try? FileSystem.remove(tar) }
        if vfs {
            try writeVFSChanges(id, to: tar)
        } else {
            try TarArchive.write(directory: upper, to: tar, overlayWhiteouts: true)
        }
        let layer = try importLayer(fromFile: tar)

        let now = rfc3339(Date())
        var image = parent
        image.created = now
        image.author = author
        if let config { image.config = config }
        image.rootfs.diffIDs.append(layer.diffID)
        image.history = (parent.history ?? []) + [
            ImageConfig.History(
                created: now, createdBy: createdBy, author: author, comment: comment)
        ]
        return try createImage(image)
    }

    /// Writes the container's whole rootfs (the merged overlay view) as a tar archive to the
    /// file at `path`, as `docker export` does. The rootfs must be mounted. Blocks.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown container layer, `.conflict` when
    ///   its rootfs is not mounted; `ArchiveError` or `SystemCallError` on failure.
    public func export(containerID id: String, to path: String) throws {
        try TarArchive.write(directory: try mountedRoot(id), to: path)
    }

    /// Writes the `export(containerID:to:)` archive to `descriptor` (a file, pipe or
    /// socket), which stays open.
    ///
    /// - Throws: as `export(containerID:to:)`.
    public func export(containerID id: String, toDescriptor descriptor: Int32) throws {
        try TarArchive.write(directory: try mountedRoot(id), toDescriptor: descriptor)
    }

    private func mountedRoot(_ id: String) throws -> String {
        try state.withLock { state in
            guard let record = state.containers[id] else {
                throw SwiftdError(.notFound, "No such container layer: \(id)")
            }
            if record.isVFS { return vfsRoot(id) }
            let merged = overlayRoot + "/" + id + "/merged"
            guard Mounts.mountPoints(under: merged).contains(merged) else {
                throw SwiftdError(.conflict, "the rootfs of container \(id) is not mounted")
            }
            return merged
        }
    }

    /// Reports whether the container layer `id` was made by the vfs driver.
    func isVFSContainer(_ id: String) throws -> Bool {
        try state.withLock { state in
            guard let record = state.containers[id] else {
                throw SwiftdError(.notFound, "No such container layer: \(id)")
            }
            return record.isVFS
        }
    }

    /// Returns the container's upper directory and the directories below it, top first: its
    /// init layer, if it has one, then its image's layers.
    func containerDirectories(_ id: String) throws -> (upper: String, lower: [String]) {
        try state.withLock { state in
            guard let record = state.containers[id] else {
                throw SwiftdError(.notFound, "No such container layer: \(id)")
            }
            let diffIDs = record.layerStack(state) ?? []
            var lower = diffIDs.reversed().compactMap { state.layers[$0] }.map {
                overlayRoot + "/" + $0.cacheID + "/diff"
            }
            let initLayer = overlayRoot + "/" + id + "/init"
            if FileSystem.exists(initLayer) { lower.insert(initLayer, at: 0) }
            return (overlayRoot + "/" + id + "/diff", lower)
        }
    }
}

/// The walk behind `Graph.changes(containerID:)` (Docker's `overlayChanges`).
private struct ChangeWalker {
    let upper: String
    let lower: [String]
    var changes: [Change] = []
    var changedDirectories: Set<String> = []

    mutating func walk(_ relative: String) throws {
        for name in try FileSystem.list(upper + relative) {
            let path = relative + "/" + name
            var info = stat()
            if lstat(upper + path, &info) != 0 {
                throw SystemCallError(call: "lstat", subject: upper + path, errno: errno)
            }
            let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            if let kind = try classify(path, info, isDirectory) {
                if isDirectory { changedDirectories.insert(path) }
                if kind != .changed {
                    let parent = FileSystem.parent(of: path)
                    if parent != "/" && changedDirectories.insert(parent).inserted {
                        changes.append(Change(path: parent, kind: .changed))
                    }
                }
                changes.append(Change(path: path, kind: kind))
            }
            if isDirectory { try walk(path) }
        }
    }

    /// Classifies one upper entry, or returns nil for a directory that differs from the one
    /// below only because something inside it changed.
    private func classify(_ path: String, _ info: stat, _ isDirectory: Bool) throws
        -> ChangeKind?
    {
        let type = info.st_mode & S_IFMT
        if type == S_IFCHR && info.st_rdev == 0 { return .deleted }
        let below = lower.lazy.compactMap { layer -> stat? in
            var found = stat()
            return lstat(layer + path, &found) == 0 ? found : nil
        }.first
        if isDirectory && TarArchive.isOpaqueDirectory(upper + path) && below != nil {
            return .deleted
        }
        guard let below else { return .added }
        if isDirectory && (below.st_mode & S_IFMT) == S_IFDIR && below.st_size == info.st_size
            && below.st_mode == info.st_mode
            && below.st_mtim.tv_sec == info.st_mtim.tv_sec
            && below.st_mtim.tv_nsec == info.st_mtim.tv_nsec
        {
            return nil
        }
        return .changed
    }
}

/// `date` in RFC 3339 with nanoseconds in UTC, as Docker writes `created`.
func rfc3339(_ date: Date) -> String {
    let seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    let nanoseconds = Int(((date.timeIntervalSince1970 - Double(seconds)) * 1e9).rounded(.down))
    var parts = tm()
    var time = seconds
    gmtime_r(&time, &parts)
    func pad(_ value: Int32, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    let digits = String(nanoseconds)
    let fraction = String(repeating: "0", count: max(0, 9 - digits.count)) + digits
    return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
        + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
        + ".\(fraction)Z"
}

/// Converts an RFC 3339 time to seconds since 1970 (`2024-01-01T00:00:00.5+02:00`), or nil.
func unixTime(_ text: String) -> Int64? {
    let bytes = Array(text.utf8)
    guard bytes.count >= 20 else { return nil }
    func number(_ start: Int, _ count: Int) -> Int64? {
        var value: Int64 = 0
        for byte in bytes[start..<start + count] {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        return value
    }
    guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
        let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
        (1...12).contains(month)
    else { return nil }
    var index = 19
    if bytes[index] == UInt8(ascii: ".") {
        index += 1
        while index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
    }
    var offset: Int64 = 0
    if index < bytes.count && bytes[index] != UInt8(ascii: "Z") && bytes[index] != 0x7a {
        guard index + 6 <= bytes.count, let hours = number(index + 1, 2),
            let minutes = number(index + 4, 2)
        else { return nil }
        offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    let days = era * 146_097 + dayOfEra - 719_468
    return days * 86_400 + hour * 3600 + minute * 60 + second - offset
}
