import Foundation
import SwiftdArchive
import SwiftdCrypto
import SwiftdSystem

extension Graph {
    /// Writes the images named by `names` (references or IDs, as `image(_:)` takes them) as
    /// a `docker save` archive to the file at `path`, created or truncated.
    ///
    /// The layout is Docker 25's. Every blob is under `blobs/sha256/`: the exact uncompressed
    /// layer tars named by their diff IDs, the config bytes, and an OCI manifest per image.
    /// Beside them are `manifest.json` with `Config`, `RepoTags` and `Layers`, the legacy
    /// `repositories`, and `oci-layout` plus `index.json`, so the archive is also an OCI
    /// image layout.
    /// A name without a tag (`busybox`) saves every tag of that repository, as Docker does;
    /// an ID saves the image without tags. Blocks until written; layers are streamed.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown name, `.unsupported` for a layer
    ///   stored without its tar; `ArchiveError` or `SystemCallError` on a write failure.
    public func save(_ names: [String], to path: String) throws {
        let plan = try savePlan(names)
        let writer = try TarStreamWriter(path: path)
        try write(plan, with: writer)
    }

    /// Writes the `save(_:to:)` archive to `descriptor` (a file, pipe or socket), which
    /// stays open.
    ///
    /// - Throws: as `save(_:to:)`; `ArchiveError` naming `EPIPE` when the reader went away.
    public func save(_ names: [String], toDescriptor descriptor: Int32) throws {
        let plan = try savePlan(names)
        let writer = try TarStreamWriter(descriptor: descriptor)
        try write(plan, with: writer)
    }

    /// Resolves the names to the images to save, in the order named, each with its tags.
    private func savePlan(_ names: [String]) throws -> [SavedImage] {
        try state.withLock { state in
            var plan: [SavedImage] = []
            func add(_ id: String, _ tag: String?) throws {
                if let index = plan.firstIndex(where: { $0.id == id }) {
                    if let tag, !plan[index].tags.contains(tag) { plan[index].tags.append(tag) }
                    return
                }
                guard let config = state.images[id] else {
                    throw SwiftdError(.notFound, "No such image: \(id)")
                }
                let layers = try config.rootfs.diffIDs.map { diffID in
                    guard let record = state.layers[diffID] else {
                        throw SwiftdError(.notFound, "No such layer: \(diffID)")
                    }
                    return (diffID, try layerTarPath(diffID, state), record.size)
                }
                plan.append(
                    SavedImage(
                        id: id, configBytes: try FileSystem.read(configPath(id)),
                        tags: tag.map { [$0] } ?? [], layers: layers))
            }
            for name in names {
                // A bare repository name means all of its tags.
                if let reference = try? Reference(parsing: name),
                    !name.contains("@"), reference.familiarName == name
                        || reference.name == name
                {
                    let tags = state.tags.filter {
                        !$0.key.contains("@") && repositoryName($0.key) == reference.familiarName
                    }
                    if !tags.isEmpty {
                        for (tag, id) in tags.sorted(by: { $0.key < $1.key }) { try add(id, tag) }
                        continue
                    }
                }
                let (id, reference) = try resolve(name, state)
                try add(id, reference.flatMap { $0.contains("@") ? nil : $0 })
            }
            return plan
        }
    }

    // NOTE: the layer tars are read after the lock is released. Deleting an image while it
    // is being saved makes the save fail with a read error, so no wrong archive is written.
    private func write(_ plan: [SavedImage], with writer: TarStreamWriter) throws {
        try writer.addDirectory("blobs")
        try writer.addDirectory("blobs/sha256")
        var written: Set<String> = []
        var index = OCIIndex(schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [])
        var manifest: [DockerManifestEntry] = []
        var repositories: [String: [String: String]] = [:]

        for image in plan {
            for (diffID, tar, _) in image.layers where written.insert(diffID).inserted {
                try writer.addFile(blobPath(diffID), contentsOf: tar)
            }
            if written.insert(image.id).inserted {
                try writer.addFile(blobPath(image.id), bytes: image.configBytes)
            }
            let ociManifest = OCIManifest(
                schemaVersion: 2, mediaType: MediaType.ociManifest,
                config: OCIDescriptor(
                    mediaType: MediaType.ociConfig, digest: image.id,
                    size: Int64(image.configBytes.count)),
                layers: image.layers.map { diffID, _, size in
                    OCIDescriptor(mediaType: MediaType.ociLayer, digest: diffID, size: size)
                })
            let manifestBytes = try encode(ociManifest)
            let manifestDigest = "sha256:" + SHA256.hash(manifestBytes)
            if written.insert(manifestDigest).inserted {
                try writer.addFile(blobPath(manifestDigest), bytes: manifestBytes)
            }
            let descriptor = OCIDescriptor(
                mediaType: MediaType.ociManifest, digest: manifestDigest,
                size: Int64(manifestBytes.count))
            if image.tags.isEmpty { index.manifests.append(descriptor) }
            for tag in image.tags {
                var named = descriptor
                let reference = try Reference(parsing: tag)
                named.annotations = [
                    Annotation.imageName: reference.description,
                    Annotation.refName: reference.tag ?? "latest",
                ]
                index.manifests.append(named)
                // NOTE: Docker names the top layer's v1 ID here; swiftd keeps no v1 IDs and
                // writes the top chain ID. Loaders read manifest.json when it exists.
                if let top = ChainID.chainIDs(image.layers.map(\.0)).last {
                    repositories[repositoryName(tag), default: [:]][reference.tag ?? "latest"] =
                        String(top.dropFirst("sha256:".count))
                }
            }
            manifest.append(
                DockerManifestEntry(
                    config: blobPath(image.id), repoTags: image.tags,
                    layers: image.layers.map { blobPath($0.0) }))
        }
        try writer.addFile("index.json", bytes: try encode(index))
        try writer.addFile("manifest.json", bytes: try encode(manifest))
        try writer.addFile("oci-layout", bytes: try encode(OCILayout(imageLayoutVersion: "1.0.0")))
        if !repositories.isEmpty {
            try writer.addFile("repositories", bytes: try encode(repositories))
        }
        try writer.finish()
    }

    private func blobPath(_ digest: String) -> String {
        "blobs/sha256/" + digest.dropFirst("sha256:".count)
    }
}

/// One image of a save: its config bytes, tags, and layers (diff ID, tar path, size).
private struct SavedImage {
    var id: String
    var configBytes: [UInt8]
    var tags: [String]
    var layers: [(String, String, Int64)]
}
