import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Graph {
    /// Creates the container's overlay2 directory (`diff/` as upperdir, `work/`, `merged/`) on
    /// top of the image's layers, and records which image it uses (so `deleteImage` refuses
    /// to remove that image). A size in `options`, else in the graph's options, limits what
    /// the container writes (and, under vfs, its copy of the image) with a project quota.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown image, `.conflict` when a layer for
    ///   `id` exists, `.invalidArgument` for an ID that is not a plain name or for a size
    ///   where the file system has no project quotas; `SystemCallError` on a file-system
    ///   failure.
    public func createContainerLayer(
        id: String, imageID: String, options: StorageOptions? = nil
    ) throws {
        guard !id.isEmpty, !id.contains("/"), !id.hasPrefix("."), !id.hasPrefix("tmp-"),
            id != "l"
        else {
            throw SwiftdError(.invalidArgument, "invalid container layer ID \"\(id)\"")
        }
        let size = try sizeLimit(options)
        let temporary = overlayRoot + "/tmp-" + id
        if driver == .vfs {
            // The copy is made outside the lock: it takes as long as the image is big.
            let layers = try state.withLock { state in
                if state.containers[id] != nil {
                    throw SwiftdError(.conflict, "container layer \(id) already exists")
                }
                return try imageLayerDirectories(try resolve(imageID, state).id, state)
            }
            do {
                try FileSystem.createDirectory(temporary + "/rootfs", mode: 0o755)
                if size > 0 {
                    try state.withLock { try limit([temporary + "/rootfs"], to: size, &$0) }
                }
                try createInitLayer(temporary + "/init")
                try composeLayers(layers + [temporary + "/init"], into: temporary + "/rootfs")
            } catch {
                try? FileSystem.removeTree(temporary)
                throw error
            }
        }
        try state.withLock { state in
            if state.containers[id] != nil {
                try? FileSystem.removeTree(temporary)
                throw SwiftdError(.conflict, "container layer \(id) already exists")
            }
            let image = try resolve(imageID, state).id
            do {
                if driver == .overlay2 {
                    for part in ["diff", "work", "merged"] {
                        try FileSystem.createDirectory(temporary + "/" + part, mode: 0o755)
                    }
                    // The upper and work directories: overlayfs writes nowhere else.
                    if size > 0 {
                        try limit([temporary + "/diff", temporary + "/work"], to: size, &state)
                    }
                    try createInitLayer(temporary + "/init")
                }
                try rename(temporary, to: overlayRoot + "/" + id)
            } catch {
                try? FileSystem.removeTree(temporary)
                throw error
            }
            let record = ContainerRecord(
                id: id, imageID: image, driver: driver,
                diffIDs: state.images[image]?.rootfs.diffIDs)
            do {
                try FileSystem.writeAtomically(containerPath(id), try encode(record))
            } catch {
                try? FileSystem.removeTree(overlayRoot + "/" + id)
                throw error
            }
            state.containers[id] = record
        }
    }

    /// The entries of every container's init layer, the read-only layer between the image and
    /// the container's own. They are the mount points and files that the container's mounts
    /// cover, and `/.dockerenv` and `/etc/mtab`, as in dockerd's init layer (moby
    /// `daemon/initlayer/setup_unix.go`). Because they are below the container's layer, `diff`
    /// and `commit` leave them out; `export` writes the merged view and includes them, as
    /// `docker export` does.
    static let initLayerEntries: [(path: String, kind: InitLayerEntry)] = [
        ("/.dockerenv", .emptyFile),
        ("/dev/console", .emptyFile),
        ("/dev/pts", .directory),
        ("/dev/shm", .directory),
        ("/etc/hostname", .emptyFile),
        ("/etc/hosts", .emptyFile),
        ("/etc/mtab", .symbolicLink(to: "/proc/mounts")),
        ("/etc/resolv.conf", .emptyFile),
        ("/proc", .directory),
        ("/sys", .directory),
    ]

    /// Creates the init layer directory at `path` with `initLayerEntries`. Directories and
    /// files get mode 0755 (less the umask), as dockerd gives them.
    ///
    /// NOTE: its `/etc` and `/dev` directories hide an image's `/etc` or `/dev` that is a
    /// symbolic link, and its `/etc/mtab` hides the image's.
    private func createInitLayer(_ path: String) throws {
        try FileSystem.createDirectory(path, mode: 0o755)
        for (entry, kind) in Self.initLayerEntries {
            let target = path + entry
            try FileSystem.createDirectory(FileSystem.parent(of: target), mode: 0o755)
            switch kind {
            case .directory:
                try FileSystem.createDirectory(target, mode: 0o755)
            case .emptyFile:
                let descriptor = try retryingInterrupts("open", target) {
                    open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
                }
                close(descriptor)
            case .symbolicLink(let destination):
                if symlink(destination, target) != 0 {
                    throw SystemCallError(call: "symlink", subject: target, errno: errno)
                }
            }
        }
    }

    /// Mounts the container's overlay rootfs and returns its path (`overlay2/<id>/merged`).
    /// Calling it again while mounted returns the same path.
    ///
    /// The lower layers are named through their short links in `overlay2/l/`, so the mount
    /// data stays within one page for deep images.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown container layer or a missing image
    ///   layer; `.unsupported` when the layer list does not fit in one page;
    ///   `SystemCallError` from `mount`.
    public func mountContainer(id: String) throws -> String {
        try state.withLock { state in
            guard let record = state.containers[id] else {
                throw SwiftdError(.notFound, "No such container layer: \(id)")
            }
            if record.isVFS { return vfsRoot(id) }
            let directory = overlayRoot + "/" + id
            let merged = directory + "/merged"
            if Mounts.mountPoints(under: merged).contains(merged) {
                state.mounted.insert(id)
                return merged
            }
            let lower = try lowerDirectories(record, state)
            let data =
                "lowerdir=\(lower.joined(separator: ":")),upperdir=\(directory)/diff,"
                + "workdir=\(directory)/work"
            let limit = sysconf(Int32(_SC_PAGESIZE)) - 1
            guard data.utf8.count <= limit else {
                throw SwiftdError(
                    .unsupported,
                    "overlay mount data for \(id) is \(data.utf8.count) bytes, more than the "
                        + "\(limit) the kernel takes (\(lower.count) layers)")
            }
            try Mounts.mount("overlay", at: merged, type: "overlay", data: data)
            state.mounted.insert(id)
            return merged
        }
    }

    /// Unmounts the container's rootfs; one that is not mounted is fine.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown container layer; `SystemCallError`
    ///   from `umount2` (`EBUSY` while a process still uses it).
    public func unmountContainer(id: String) throws {
        try state.withLock { state in
            guard let record = state.containers[id] else {
                throw SwiftdError(.notFound, "No such container layer: \(id)")
            }
            if record.isVFS { return }
            try Mounts.unmount(overlayRoot + "/" + id + "/merged")
            state.mounted.remove(id)
        }
    }

    /// Unmounts the rootfs if needed and removes the container's layer and record.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown container layer; `SystemCallError`
    ///   when the unmount or the removal fails.
    public func removeContainerLayer(id: String) throws {
        try state.withLock { state in
            guard let record = state.containers[id] else {
                throw SwiftdError(.notFound, "No such container layer: \(id)")
            }
            let directory = overlayRoot + "/" + id
            if !record.isVFS { try Mounts.unmount(directory + "/merged") }
            state.mounted.remove(id)
            try FileSystem.remove(containerPath(id))
            state.containers[id] = nil
            let doomed = overlayRoot + "/tmp-" + id
            try rename(directory, to: doomed)
            try FileSystem.removeTree(doomed)
            if state.images[record.imageID] == nil {
                // `rmi -f` deleted the image and left its layers to this container.
                try removeUnusedLayers(record.diffIDs ?? [], state: &state)
            }
        }
    }

    /// Unmounts every container rootfs this graph mounted except those of `keeping`, lazily
    /// if one is busy; failures are skipped so that shutdown goes on.
    public func unmountAll(keeping: Set<String> = []) {
        state.withLock { state in
            for id in state.mounted where !keeping.contains(id) {
                let merged = overlayRoot + "/" + id + "/merged"
                if (try? Mounts.unmount(merged)) == nil {
                    try? Mounts.unmount(merged, detach: true)
                }
            }
            state.mounted.removeAll()
        }
    }

    /// The IDs of the container layers in the store.
    public func containerLayers() -> [String] {
        state.withLock { Array($0.containers.keys).sorted() }
    }

    /// The directories of an image's layers, bottom first. Call with the state locked.
    func imageLayerDirectories(_ imageID: String, _ state: GraphState) throws -> [String] {
        guard let config = state.images[imageID] else {
            throw SwiftdError(.notFound, "No such image: \(imageID)")
        }
        return try config.rootfs.diffIDs.map { diffID in
            guard let record = state.layers[diffID] else {
                throw SwiftdError(.notFound, "No such layer: \(diffID)")
            }
            return overlayRoot + "/" + record.cacheID + "/diff"
        }
    }

    /// The lowerdir list, top layer first, through the short links. A layer that appears
    /// twice is kept only at its highest place: overlayfs refuses a directory twice, and the
    /// higher copy already decides every path the lower one touches.
    private func lowerDirectories(_ record: ContainerRecord, _ state: GraphState)
        throws -> [String]
    {
        guard let diffIDs = record.layerStack(state) else {
            throw SwiftdError(.notFound, "No such image: \(record.imageID)")
        }
        let container = record.id
        var seen: Set<String> = []
        var lower: [String] = []
        // Containers created before the init layer existed have none.
        let initLayer = overlayRoot + "/" + container + "/init"
        if FileSystem.exists(initLayer) { lower.append(initLayer) }
        for diffID in diffIDs.reversed() where seen.insert(diffID).inserted {
            guard let record = state.layers[diffID] else {
                throw SwiftdError(.notFound, "No such layer: \(diffID)")
            }
            lower.append(overlayRoot + "/l/" + record.link)
        }
        if lower.isEmpty {
            // An image without layers still needs one lower directory.
            let empty = overlayRoot + "/" + container + "/empty"
            try FileSystem.createDirectory(empty, mode: 0o755)
            lower.append(empty)
        }
        return lower
    }
}

/// The kind of one entry of a container's init layer.
enum InitLayerEntry: Sendable {
    case directory
    case emptyFile
    case symbolicLink(to: String)
}
