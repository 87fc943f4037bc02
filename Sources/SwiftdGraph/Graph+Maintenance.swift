import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// One row of `GET /images/{name}/history`.
public struct HistoryEntry: Sendable, Equatable {
    /// The image ID for the newest row, `<missing>` for the steps below it (swiftd keeps no
    /// parent chain, as Docker has none for pulled images).
    public var id: String
    /// Seconds since 1970 (0 when the config has no time).
    public var created: Int64
    public var createdBy: String
    /// The image's tags, on the newest row only.
    public var tags: [String]
    /// The uncompressed size of the layer this step made; 0 for an empty layer.
    public var size: Int64
    public var comment: String
}

/// The images and space that `pruneImages()` removed.
public struct PruneReport: Sendable, Equatable {
    /// `Untagged: REFERENCE` and `Deleted: sha256:…` lines, as `deleteImage` reports them,
    /// image after image.
    public var deleted: [String]
    /// The uncompressed size of the layers removed, in bytes.
    public var spaceReclaimed: Int64
}

/// The figures of `docker system df` for images and containers.
public struct DiskUsage: Sendable, Equatable {
    /// One image: its size, the part shared with other images, and its containers.
    public struct ImageUsage: Sendable, Equatable {
        public var id: String
        public var repoTags: [String]
        /// The sum of its layers' uncompressed sizes.
        public var size: Int64
        /// The part of `size` in layers that another image uses too.
        public var sharedSize: Int64
        /// How many container layers use the image.
        public var containers: Int
    }

    /// One container's writable layer.
    public struct ContainerUsage: Sendable, Equatable {
        public var id: String
        public var imageID: String
        /// Bytes in the container's upper directory (files and links; hard links once).
        public var sizeRw: Int64
    }

    /// The sum of every stored layer's uncompressed size, each layer once.
    // NOTE: the stored layer tars take about as much again on disk; not counted here.
    public var layersSize: Int64
    public var images: [ImageUsage]
    public var containers: [ContainerUsage]
}

extension Graph {
    /// Lists the steps that made the image, newest first, from its config's `history` (as
    /// `docker history` lists them): each non-empty step is matched with the next layer.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown image; `.internalError` when the
    ///   history names more layers than the image has.
    public func history(_ nameOrID: String) throws -> [HistoryEntry] {
        try state.withLock { state in
            let id = try resolve(nameOrID, state).id
            let image = makeImage(id, state)
            var entries: [HistoryEntry] = []
            var layer = 0
            for step in image.config.history ?? [] {
                var size: Int64 = 0
                if step.emptyLayer != true {
                    guard layer < image.diffIDs.count else {
                        throw SwiftdError(
                            .internalError,
                            "image \(id): too many non-empty layers in History section")
                    }
                    size = state.layers[image.diffIDs[layer]]?.size ?? 0
                    layer += 1
                }
                entries.insert(
                    HistoryEntry(
                        id: "<missing>", created: step.created.flatMap(unixTime) ?? 0,
                        createdBy: step.createdBy ?? "", tags: [], size: size,
                        comment: step.comment ?? ""),
                    at: 0)
            }
            if !entries.isEmpty {
                entries[0].id = id
                entries[0].tags = image.repoTags
            }
            return entries
        }
    }

    /// Removes the tag `reference`, leaving the image even when it was its last tag.
    ///
    /// - Throws: `SwiftdError(.notFound)` when no such tag exists, `.invalidArgument` for a
    ///   malformed reference; `SystemCallError` when the tag store cannot be written.
    public func untag(_ reference: String) throws {
        let familiar = try Reference(parsing: reference).familiarString
        try state.withLock { state in
            guard state.tags[familiar] != nil else {
                throw SwiftdError(.notFound, "No such image: \(reference)")
            }
            var tags = state.tags
            tags[familiar] = nil
            try saveTags(tags)
            state.tags = tags
        }
    }

    /// Deletes every dangling image (no tag or digest reference, no container layer) and
    /// the layers only they used, as `docker image prune` does. With `includingNamed`, images
    /// with references go too, as with `docker image prune --all`, when no container uses them.
    /// Only the images that `selects` returns true for are considered.
    ///
    /// - Throws: `SystemCallError` when a removal fails; what was removed before stays
    ///   removed.
    public func pruneImages(
        includingNamed: Bool = false, where selects: (Image) -> Bool = { _ in true }
    ) throws -> PruneReport {
        let (candidates, before) = state.withLock { state in
            let referenced = Set(state.tags.values)
            let used = Set(state.containers.values.map(\.imageID))
            let ids = state.images.keys.filter {
                (includingNamed || !referenced.contains($0)) && !used.contains($0)
            }
            return (ids.sorted().map { makeImage($0, state) }, state.layers)
        }
        let unused = candidates.filter(selects).map(\.id)
        var report = PruneReport(deleted: [], spaceReclaimed: 0)
        for id in unused {
            do {
                report.deleted += try deleteImage(id, force: includingNamed, unlessUsed: true)
            } catch let error as SwiftdError where error.kind == .conflict {
                // A container started using it since the list was made.
                continue
            } catch let error as SwiftdError where error.kind == .notFound {
                continue
            }
        }
        let after = state.withLock { $0.layers }
        for (diffID, record) in before where after[diffID] == nil {
            report.spaceReclaimed += record.size
        }
        return report
    }

    /// Computes the `docker system df` figures. Blocks while it walks the containers' upper
    /// directories.
    ///
    /// - Throws: `SystemCallError` when an upper directory cannot be read.
    public func diskUsage() throws -> DiskUsage {
        let (images, layersSize, containers) = state.withLock { state in
            var users: [String: Int] = [:]
            for image in state.images.values {
                for diffID in Set(image.rootfs.diffIDs) { users[diffID, default: 0] += 1 }
            }
            let images = state.images.keys.sorted().map { id in
                let image = makeImage(id, state)
                let shared = Set(image.diffIDs).filter { users[$0, default: 0] > 1 }
                    .reduce(Int64(0)) { $0 + (state.layers[$1]?.size ?? 0) }
                let count = state.containers.values.filter { $0.imageID == id }.count
                return DiskUsage.ImageUsage(
                    id: id, repoTags: image.repoTags, size: image.size, sharedSize: shared,
                    containers: count)
            }
            let total = state.layers.values.reduce(Int64(0)) { $0 + $1.size }
            return (images, total, state.containers.values.sorted { $0.id < $1.id })
        }
        var usage = DiskUsage(layersSize: layersSize, images: images, containers: [])
        for container in containers {
            var seen: Set<UInt64> = []
            let size = container.isVFS
                ? try vfsChangedSize(container.id)
                : try directorySize(overlayRoot + "/" + container.id + "/diff", &seen)
            usage.containers.append(
                DiskUsage.ContainerUsage(
                    id: container.id, imageID: container.imageID, sizeRw: size))
        }
        return usage
    }

    /// Sums the sizes of everything but directories below `path`, each hard-linked inode once.
    private func directorySize(_ path: String, _ seen: inout Set<UInt64>) throws -> Int64 {
        var total: Int64 = 0
        for name in try FileSystem.list(path) {
            var info = stat()
            if lstat(path + "/" + name, &info) != 0 {
                if errno == ENOENT { continue }
                throw SystemCallError(call: "lstat", subject: path + "/" + name, errno: errno)
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                total += try directorySize(path + "/" + name, &seen)
            } else if info.st_nlink <= 1 || seen.insert(UInt64(info.st_ino)).inserted {
                total += Int64(info.st_size)
            }
        }
        return total
    }
}
