import Foundation
import SwiftdCrypto
import SwiftdGraph
import SwiftdSystem

/// The outcome of a push.
public struct PushResult: Sendable {
    /// The digest of the uploaded manifest.
    public var digest: String
    /// The manifest's size in bytes.
    public var size: Int
}

/// Pushes images from a `Graph` to registries.
public final class ImagePusher: Sendable {
    public let graph: Graph
    /// Blobs larger than this go up in `PATCH` chunks of this size.
    public let chunkSize: Int64

    public init(graph: Graph, chunkSize: Int64 = 16 << 20) {
        self.graph = graph
        self.chunkSize = chunkSize
    }

    /// Media type of a gzip-compressed layer in a Docker schema 2 manifest.
    static let gzipLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    /// Pushes the image `source` (a name or ID in the store) to `reference`'s repository and
    /// tag through `client`. Each layer is skipped when the repository has a blob known to
    /// contain it, mounted from another repository of the same registry that has one, or
    /// else uploaded gzip-compressed. Then the config goes up, and the manifest last.
    /// Tags the image with `name@digest`. Blocks; `progress` is called on this thread.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown image; `RegistryError` for registry
    ///   failures; `SystemCallError` for host failures.
    public func push(
        _ source: String, to reference: Reference, client: RegistryClient,
        progress: (PullProgress) -> Void
    ) throws -> PushResult {
        let repository = ImagePuller.repository(of: reference)
        let tag = reference.tag ?? "latest"
        let content = try graph.pushContent(of: source)
        progress(PullProgress("The push refers to repository [\(reference.name)]"))

        var layers: [Descriptor] = []
        for (diffID, tarPath) in content.layers {
            let id = ImagePuller.shortID(diffID)
            progress(PullProgress(id: id, "Preparing"))
            layers.append(
                try pushLayer(
                    diffID, tarPath, id: id, repository: repository, client: client,
                    progress: progress))
        }

        let configDigest = "sha256:" + SHA256.hash(content.configBytes)
        if try !client.hasBlob(repository, digest: configDigest) {
            try client.uploadBlob(
                repository, digest: configDigest, from: .bytes(content.configBytes),
                chunkSize: chunkSize)
        }
        let manifest = ImageManifest(
            mediaType: ManifestMediaType.dockerManifest,
            config: Descriptor(
                mediaType: ManifestMediaType.dockerConfig, digest: configDigest,
                size: Int64(content.configBytes.count)),
            layers: layers)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = Array(try encoder.encode(manifest))
        let digest = try client.putManifest(
            repository, reference: tag, bytes: bytes, mediaType: ManifestMediaType.dockerManifest)
        try graph.tag(content.id, as: try Reference(parsing: "\(reference.name)@\(digest)"))
        progress(PullProgress("\(tag): digest: \(digest) size: \(bytes.count)"))
        return PushResult(digest: digest, size: bytes.count)
    }

    /// Makes one layer present in the repository and returns its manifest descriptor.
    private func pushLayer(
        _ diffID: String, _ tarPath: String, id: String, repository: String,
        client: RegistryClient, progress: (PullProgress) -> Void
    ) throws -> Descriptor {
        let known = graph.distributionRecords(diffID).filter { $0.registry == client.host }
        for record in known where record.repository == repository {
            if try client.hasBlob(repository, digest: record.digest) {
                progress(PullProgress(id: id, "Layer already exists"))
                return Descriptor(
                    mediaType: record.mediaType, digest: record.digest, size: record.size)
            }
        }
        for record in known where record.repository != repository {
            if try client.mountBlob(repository, digest: record.digest, from: record.repository) {
                progress(PullProgress(id: id, "Mounted from \(record.repository)"))
                try remember(record, repository: repository, diffID)
                return Descriptor(
                    mediaType: record.mediaType, digest: record.digest, size: record.size)
            }
        }

        // Registries get the gzip form, as from docker. Its digest is cached per layer, so a
        // registry that has the blob already is asked for it without compressing again.
        let cache = CompressedLayerCache(root: graph.root)
        if let cached = cache.entry(for: diffID),
            try client.hasBlob(repository, digest: cached.digest)
        {
            progress(PullProgress(id: id, "Layer already exists"))
            return try recorded(cached, repository: repository, client: client, diffID)
        }
        let (file, entry) = try cache.compress(diffID, tarPath: tarPath, root: graph.root)
        defer { try? FileSystem.remove(file) }
        if try client.hasBlob(repository, digest: entry.digest) {
            progress(PullProgress(id: id, "Layer already exists"))
        } else {
            try client.uploadBlob(
                repository, digest: entry.digest, from: .file(file), chunkSize: chunkSize
            ) { sent in
                progress(PullProgress(id: id, "Pushing", current: sent, total: entry.size))
            }
            progress(PullProgress(id: id, "Pushed"))
        }
        return try recorded(entry, repository: repository, client: client, diffID)
    }

    /// Records that `repository` of `client`'s registry has the gzip form `entry` of the
    /// layer `diffID`, and returns its manifest descriptor.
    private func recorded(
        _ entry: CompressedLayerCache.Entry, repository: String, client: RegistryClient,
        _ diffID: String
    ) throws -> Descriptor {
        let record = DistributionRecord(
            digest: entry.digest, size: entry.size, mediaType: Self.gzipLayer,
            registry: client.host, repository: repository)
        try remember(record, repository: repository, diffID)
        return Descriptor(mediaType: record.mediaType, digest: record.digest, size: record.size)
    }

    private func remember(_ record: DistributionRecord, repository: String, _ diffID: String)
        throws
    {
        var copy = record
        copy.repository = repository
        try graph.recordDistribution(copy, forLayer: diffID)
    }
}
