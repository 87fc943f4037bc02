import Foundation
import Synchronization
import SwiftdCrypto
import SwiftdSystem

/// The image store and the graph drivers (overlay2 and vfs) under one root directory.
///
/// Layout under `root`: `image/content/sha256/<hex>` (config bytes, named by their sha256),
/// `image/repositories.json` (the tag store), `layers/sha256/<hex>.json` (one record per layer
/// by diff ID), `layers/containers/<id>.json`, and `overlay2/` (a directory per layer or
/// container with `diff/`, plus `l/` with short symbolic links to the layers' `diff/`; a vfs
/// container has `rootfs/` there instead).
///
/// Every method blocks on file-system work and is safe to call from any thread; the in-memory
/// index is guarded by a mutex, and extraction runs outside it.
public final class Graph: Sendable {
    /// The store's root directory, as given.
    public let root: String
    /// The driver for containers created from now on; each container layer records its own.
    public let driver: StorageDriver
    /// The daemon's storage options, the defaults of every container layer.
    public let options: StorageOptions
    /// The project quotas of the file system under `overlay2/`, or nil where it has none.
    let projectQuota: ProjectQuota?
    /// The reason that the file system under `overlay2/` has no project quotas, or nil where it
    /// has them.
    public let projectQuotaUnsupportedReason: String?
    let state: Mutex<GraphState>

    /// Opens or creates the store under `root`, loads the index, and removes half-written
    /// leftovers of a crash: temporary files and directories, layer directories with no
    /// record, dangling short links, and tags of missing images.
    ///
    /// It also finds out whether the file system under `overlay2/` enforces project quotas,
    /// which size limits need.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` when `options` sets a size but the file
    ///   system has no project quotas; `SystemCallError` when a directory cannot be created or
    ///   read.
    public init(
        root: String, driver: StorageDriver = .overlay2, options: StorageOptions = StorageOptions()
    ) throws {
        self.root = root
        self.driver = driver
        self.options = options
        for directory in [
            "image/content/sha256", "layers/sha256", "layers/containers", "overlay2/l",
        ] {
            try FileSystem.createDirectory(root + "/" + directory, mode: 0o700)
        }
        var state = try GraphState.load(root: root)
        do {
            let quota = try ProjectQuota(directory: root + "/overlay2")
            state.nextProjectID = try Self.nextProjectID(root + "/overlay2", state)
            projectQuota = quota
            projectQuotaUnsupportedReason = nil
        } catch {
            projectQuota = nil
            projectQuotaUnsupportedReason = (error as? SwiftdError)?.message ?? "\(error)"
        }
        if let reason = projectQuotaUnsupportedReason, (options.size ?? 0) > 0 {
            // dockerd's messages for overlay2.size and vfs's size.
            throw SwiftdError(
                .invalidArgument,
                driver == .overlay2
                    ? "Storage option overlay2.size not supported. Filesystem does not support "
                        + "Project Quota: \(reason)"
                    : "Filesystem does not support, or has not enabled quotas: \(reason)")
        }
        self.state = Mutex(state)
    }

    var overlayRoot: String { root + "/overlay2" }
    var tagStorePath: String { root + "/image/repositories.json" }

    func configPath(_ id: String) -> String {
        root + "/image/content/sha256/" + id.dropFirst("sha256:".count)
    }

    func layerPath(_ diffID: String) -> String {
        root + "/layers/sha256/" + diffID.dropFirst("sha256:".count) + ".json"
    }

    func containerPath(_ id: String) -> String { root + "/layers/containers/" + id + ".json" }
}

/// The in-memory index of the store.
struct GraphState: Sendable {
    var layers: [String: LayerRecord] = [:]
    /// Image ID to config.
    var images: [String: ImageConfig] = [:]
    /// Familiar reference string to image ID.
    var tags: [String: String] = [:]
    var containers: [String: ContainerRecord] = [:]
    /// Containers whose rootfs this process mounted.
    var mounted: Set<String> = []
    /// The project ID that the next container layer with a size limit gets.
    var nextProjectID: UInt32 = 1

    static func load(root: String) throws -> GraphState {
        var state = GraphState()
        let decoder = JSONDecoder()
        try removeTemporaries(in: root + "/image/content/sha256")
        try removeTemporaries(in: root + "/image")
        try removeTemporaries(in: root + "/layers/sha256")
        try removeTemporaries(in: root + "/layers/containers")
        try removeTemporaries(in: root + "/overlay2")

        for name in try FileSystem.list(root + "/layers/sha256") where name.hasSuffix(".json") {
            let path = root + "/layers/sha256/" + name
            guard
                let record = try? decoder.decode(
                    LayerRecord.self, from: Data(FileSystem.read(path)))
            else {
                try FileSystem.remove(path)
                continue
            }
            state.layers[record.diffID] = record
        }
        for name in try FileSystem.list(root + "/layers/containers") where name.hasSuffix(".json") {
            let path = root + "/layers/containers/" + name
            guard
                let record = try? decoder.decode(
                    ContainerRecord.self, from: Data(FileSystem.read(path)))
            else {
                try FileSystem.remove(path)
                continue
            }
            state.containers[record.id] = record
        }
        for name in try FileSystem.list(root + "/image/content/sha256") {
            let bytes = try FileSystem.read(root + "/image/content/sha256/" + name)
            // A config whose bytes do not match its name was not written by writeAtomically.
            guard SHA256.hash(bytes) == name,
                let config = try? decoder.decode(ImageConfig.self, from: Data(bytes))
            else { continue }
            state.images["sha256:" + name] = config
        }
        if let bytes = try? FileSystem.read(root + "/image/repositories.json"),
            let store = try? decoder.decode(TagStoreFile.self, from: Data(bytes))
        {
            for (_, references) in store.repositories {
                for (reference, id) in references where state.images[id] != nil {
                    state.tags[reference] = id
                }
            }
        }
        try state.removeOrphanDirectories(root: root)
        return state
    }

    /// Removes the `tmp-*` and `.tmp-*` leftovers of interrupted writes in `directory`.
    private static func removeTemporaries(in directory: String) throws {
        for name in try FileSystem.list(directory)
        where name.hasPrefix("tmp-") || name.hasPrefix(".tmp-") {
            try FileSystem.removeTree(directory + "/" + name)
        }
    }

    /// Removes overlay2 directories that no record names, and dangling links in overlay2/l.
    /// Directories with a mount point below them are kept (`removeTree` refuses them).
    private mutating func removeOrphanDirectories(root: String) throws {
        let overlay = root + "/overlay2"
        var known = Set(layers.values.map(\.cacheID))
        known.formUnion(containers.keys)
        known.formUnion(["l", ProjectQuota.deviceName])
        for name in try FileSystem.list(overlay) where !known.contains(name) {
            if Mounts.mountPoints(under: overlay + "/" + name).isEmpty {
                try FileSystem.removeTree(overlay + "/" + name)
            }
        }
        let links = Set(layers.values.map(\.link))
        for name in try FileSystem.list(overlay + "/l") where !links.contains(name) {
            try FileSystem.remove(overlay + "/l/" + name)
        }
        for id in containers.keys {
            let merged = overlay + "/" + id + "/merged"
            if Mounts.mountPoints(under: merged).contains(merged) { mounted.insert(id) }
        }
    }
}

/// `repositories.json`: `{"Repositories": {"busybox": {"busybox:latest": "sha256:…"}}}`.
struct TagStoreFile: Codable {
    var repositories: [String: [String: String]]

    enum CodingKeys: String, CodingKey {
        case repositories = "Repositories"
    }
}
