import Foundation
import SwiftdArchive
import SwiftdCrypto
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Graph {
    /// Loads the images of a `docker save` archive (`manifest.json`, any layer layout) or an
    /// OCI image layout archive (`index.json`; gzip and other compressed layers too) from the
    /// file at `path`, and returns them in archive order.
    ///
    /// The archive is extracted under the root with the checks of `importLayer` (no device
    /// nodes either); every layer's diff ID is checked against the config's
    /// `rootfs.diff_ids`, every config's sha256 against the name the manifest gives it, and
    /// in OCI layouts every blob against its descriptor. Layers, images and tags are
    /// registered only when all images verified; a failure leaves the store as it was.
    /// `progress` gets `Loaded image: busybox:latest` per tag, or
    /// `Loaded image ID: sha256:…` for an untagged image, after registration; `layerProgress`
    /// gets each layer's diff ID with 0 and its size before it is unpacked, and its size twice
    /// after. Blocks.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` or `ArchiveError(.invalidArgument)` for a
    ///   malformed archive, a missing or mismatching blob or layer, or a bad config;
    ///   `.unsupported` for a multi-platform index; `SystemCallError` on host failures.
    @discardableResult
    public func load(
        fromFile path: String, progress: (String) -> Void = { _ in },
        layerProgress: (_ diffID: String, _ done: Int64, _ total: Int64) -> Void = { _, _, _ in }
    ) throws -> [Image] {
        try load(progress, layerProgress) { directory in
            _ = try TarArchive.extract(
                file: path, into: directory, options: ExtractOptions(layer: false))
        }
    }

    /// Loads from `descriptor` (read to the end of the archive; not closed) as
    /// `load(fromFile:progress:)` does.
    ///
    /// - Throws: as `load(fromFile:progress:)`.
    @discardableResult
    public func load(fromDescriptor descriptor: Int32, progress: (String) -> Void = { _ in })
        throws -> [Image]
    {
        try load(progress, { _, _, _ in }) { directory in
            _ = try TarArchive.extract(
                descriptor: descriptor, into: directory, options: ExtractOptions(layer: false))
        }
    }

    private func load(
        _ progress: (String) -> Void, _ layerProgress: (String, Int64, Int64) -> Void,
        extract: (String) throws -> Void
    ) throws -> [Image] {
        let work = overlayRoot + "/tmp-load-" + randomHex(16)
        try FileSystem.createDirectory(work, mode: 0o700)
        defer { try? FileSystem.removeTree(work) }
        try extract(work)
        let unpacked = try UnpackedArchive(root: work)
        let plans =
            FileSystem.exists(work + "/manifest.json")
            ? try unpacked.dockerPlans() : try unpacked.ociPlans()

        // Stage every layer (each file once), then check it against its config.
        var staged: [String: StagedLayer] = [:]
        defer { for layer in staged.values { discard(layer) } }
        var configs: [ImageConfig] = []
        for plan in plans {
            let config = try decodeConfig(plan.configBytes)
            guard config.rootfs.diffIDs.count == plan.layers.count else {
                throw SwiftdError(
                    .invalidArgument,
                    "invalid archive: \(plan.configName) names \(config.rootfs.diffIDs.count) "
                        + "layers, the manifest \(plan.layers.count)")
            }
            for (layer, diffID) in zip(plan.layers, config.rootfs.diffIDs) {
                if staged[layer] == nil {
                    var info = stat()
                    let size = stat(layer, &info) == 0 ? Int64(info.st_size) : 0
                    layerProgress(diffID, 0, size)
                    staged[layer] = try stageLayer(fromFile: layer)
                    layerProgress(diffID, size, size)
                }
                guard let found = staged[layer]?.diffID, found == diffID else {
                    throw SwiftdError(
                        .invalidArgument,
                        "invalid archive: layer \(unpacked.relative(layer)) has diff ID "
                            + "\(staged[layer]?.diffID ?? "?"), the config expects \(diffID)")
                }
            }
            configs.append(config)
        }

        let images = try state.withLock { state in
            try registerLoaded(plans, configs, staged: &staged, &state)
        }
        for (plan, image) in zip(plans, images) {
            if plan.tags.isEmpty { progress("Loaded image ID: \(image.id)") }
            for tag in plan.tags { progress("Loaded image: \(tag.familiarString)") }
        }
        return images
    }

    /// Registers verified layers, configs and tags, undoing what it added if a write fails.
    private func registerLoaded(
        _ plans: [LoadPlan], _ configs: [ImageConfig], staged: inout [String: StagedLayer],
        _ state: inout GraphState
    ) throws -> [Image] {
        var addedLayers: [LayerRecord] = []
        var addedImages: [String] = []
        do {
            for key in staged.keys.sorted() {
                guard let layer = staged.removeValue(forKey: key) else { continue }
                let (record, added) = try register(layer, &state)
                if added { addedLayers.append(record) }
            }
            var ids: [String] = []
            for (plan, config) in zip(plans, configs) {
                let (id, added) = try storeConfig(plan.configBytes, config, &state)
                if added { addedImages.append(id) }
                ids.append(id)
            }
            var tags = state.tags
            for (plan, id) in zip(plans, ids) {
                for tag in plan.tags { tags[tag.familiarString] = id }
            }
            if tags != state.tags {
                try saveTags(tags)
                state.tags = tags
            }
            return ids.map { makeImage($0, state) }
        } catch {
            for id in addedImages {
                try? FileSystem.remove(configPath(id))
                state.images[id] = nil
            }
            for record in addedLayers { try? removeLayer(record, state: &state) }
            throw error
        }
    }
}

/// One image found in an archive, with its files resolved inside the extracted directory.
struct LoadPlan {
    var configName: String
    var configBytes: [UInt8]
    /// Absolute paths of the layer files, bottom first.
    var layers: [String]
    var tags: [Reference]
}

/// An archive extracted into a directory, read without leaving it.
struct UnpackedArchive {
    let root: String

    init(root: String) throws {
        guard let resolved = realpath(root, nil) else {
            throw SystemCallError(call: "realpath", subject: root, errno: errno)
        }
        defer { free(resolved) }
        self.root = String(cString: resolved)
    }

    /// `manifest.json` of `docker save`.
    func dockerPlans() throws -> [LoadPlan] {
        let entries: [DockerManifestEntry] = try decode("manifest.json")
        return try entries.map { entry in
            let configPath = try file(entry.config)
            let bytes = try FileSystem.read(configPath)
            // `<hex>.json` and `blobs/sha256/<hex>` name the config by its digest.
            var stem = FileSystem.basename(of: entry.config)
            if stem.hasSuffix(".json") { stem.removeLast(5) }
            if Digest.isSHA256Hex(stem), SHA256.hash(bytes) != stem {
                throw SwiftdError(
                    .invalidArgument,
                    "invalid archive: config \(entry.config) has digest "
                        + "sha256:\(SHA256.hash(bytes))")
            }
            let tags = try (entry.repoTags ?? []).map { try Reference(parsing: $0) }
            return LoadPlan(
                configName: entry.config, configBytes: bytes,
                layers: try entry.layers.map { try file($0) }, tags: tags)
        }
    }

    /// `index.json` of an OCI image layout; every blob is checked against its descriptor.
    func ociPlans() throws -> [LoadPlan] {
        guard FileSystem.exists(root + "/index.json") else {
            throw SwiftdError(
                .invalidArgument, "invalid archive: neither manifest.json nor index.json found")
        }
        let index: OCIIndex = try decode("index.json")
        var plans: [LoadPlan] = []
        for descriptor in index.manifests {
            guard descriptor.mediaType != MediaType.ociIndex,
                descriptor.mediaType != MediaType.dockerManifestList
            else {
                // TODO: pick the host's platform from a nested index, as docker load does.
                throw SwiftdError(
                    .unsupported, "loading a multi-platform image index is not supported")
            }
            let manifestBytes = try blob(descriptor)
            let manifest: OCIManifest
            do {
                manifest = try JSONDecoder().decode(OCIManifest.self, from: Data(manifestBytes))
            } catch {
                throw SwiftdError(
                    .invalidArgument, "invalid archive: manifest \(descriptor.digest): \(describeDecodingFailure(error))")
            }
            let configBytes = try blob(manifest.config)
            var layers: [String] = []
            for layer in manifest.layers {
                let path = try blobFile(layer.digest)
                try check(path, against: layer)
                layers.append(path)
            }
            plans.append(
                LoadPlan(
                    configName: manifest.config.digest, configBytes: configBytes,
                    layers: layers, tags: try tag(of: descriptor).map { [$0] } ?? []))
        }
        return plans
    }

    /// Returns the image name of an index entry: containerd's full name, else a ref name that is a
    /// whole reference (skopeo's `busybox:latest`), not a bare tag.
    private func tag(of descriptor: OCIDescriptor) throws -> Reference? {
        if let name = descriptor.annotations?[Annotation.imageName] {
            return try Reference(parsing: name)
        }
        if let name = descriptor.annotations?[Annotation.refName],
            name.contains(":") || name.contains("/")
        {
            return try Reference(parsing: name)
        }
        return nil
    }

    private func decode<Value: Decodable>(_ name: String) throws -> Value {
        let bytes = try FileSystem.read(try file(name))
        do {
            return try JSONDecoder().decode(Value.self, from: Data(bytes))
        } catch {
            throw SwiftdError(.invalidArgument, "invalid archive: \(name): \(describeDecodingFailure(error))")
        }
    }

    private func blob(_ descriptor: OCIDescriptor) throws -> [UInt8] {
        let bytes = try FileSystem.read(try blobFile(descriptor.digest))
        let digest = "sha256:" + SHA256.hash(bytes)
        guard digest == descriptor.digest, Int64(bytes.count) == descriptor.size else {
            throw SwiftdError(
                .invalidArgument,
                "invalid archive: blob \(descriptor.digest) has digest \(digest) and size "
                    + "\(bytes.count), its descriptor says size \(descriptor.size)")
        }
        return bytes
    }

    private func blobFile(_ digest: String) throws -> String {
        guard let parsed = try? Digest(parsing: digest) else {
            throw SwiftdError(.invalidArgument, "invalid archive: invalid digest \"\(digest)\"")
        }
        return try file("blobs/sha256/" + parsed.hex)
    }

    /// Hashes a (possibly large) blob file in blocks and compares it with its descriptor.
    private func check(_ path: String, against descriptor: OCIDescriptor) throws {
        let fd = try retryingInterrupts("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        let hasher = SHA256()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", path) { read(fd, raw.baseAddress, raw.count) }
            }
            if count == 0 { break }
            hasher.update(buffer[0..<count])
            size += Int64(count)
        }
        let digest = "sha256:" + hasher.finalize()
        guard digest == descriptor.digest, size == descriptor.size else {
            throw SwiftdError(
                .invalidArgument,
                "invalid archive: blob \(descriptor.digest) has digest \(digest) and size "
                    + "\(size), its descriptor says size \(descriptor.size)")
        }
    }

    /// Returns the absolute path of the regular file `name` inside the archive. Symbolic
    /// links are followed only while they stay inside.
    func file(_ name: String) throws -> String {
        let parts = name.split(separator: "/")
        guard !name.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else {
            throw SwiftdError(.invalidArgument, "invalid archive: bad path \"\(name)\"")
        }
        let joined = root + "/" + parts.joined(separator: "/")
        guard let resolved = realpath(joined, nil) else {
            throw SwiftdError(.invalidArgument, "invalid archive: \(name) is missing")
        }
        defer { free(resolved) }
        let path = String(cString: resolved)
        var info = stat()
        guard path.hasPrefix(root + "/"), stat(path, &info) == 0,
            (info.st_mode & S_IFMT) == S_IFREG
        else {
            throw SwiftdError(.invalidArgument, "invalid archive: \(name) is not a file in it")
        }
        return path
    }

    /// `path` relative to the archive root, for messages.
    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}
