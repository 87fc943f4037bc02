import Dispatch
import Foundation
import Synchronization
import SwiftdCrypto
import SwiftdGraph
import SwiftdSystem

/// One progress message of a pull: `status` for `id` (a layer's short digest or the tag),
/// with `current` and `total` bytes while downloading.
public struct PullProgress: Sendable, Equatable {
    public var id: String?
    public var status: String
    public var current: Int64?
    public var total: Int64?

    public init(id: String? = nil, _ status: String, current: Int64? = nil, total: Int64? = nil) {
        self.id = id
        self.status = status
        self.current = current
        self.total = total
    }
}

/// The outcome of a pull.
public struct PullResult: Sendable {
    public var image: Image
    /// The digest of the manifest (or index) the reference resolved to.
    public var digest: String
    /// False when the reference already named this image.
    public var downloadedNewer: Bool
}

/// Pulls images from registries into a `Graph`.
public final class ImagePuller: Sendable {
    public let graph: Graph
    /// How many layers download at once.
    public let parallelDownloads: Int

    public init(graph: Graph, parallelDownloads: Int = 3) {
        self.graph = graph
        self.parallelDownloads = max(1, parallelDownloads)
    }

    /// Pulls `reference` from `client`'s registry: resolves the manifest (choosing `platform`
    /// from a manifest list or index), fetches the config, downloads the layers not already
    /// stored (`parallelDownloads` at a time, each checked against its digest and size while
    /// it streams and against the config's diff ID once extracted), and registers the image
    /// and its tag only when everything verified. Blocks for the whole pull; `progress` is
    /// called from several threads.
    ///
    /// - Throws: `RegistryError` for registry and verification failures (nothing is stored
    ///   then), `SwiftdError`/`ArchiveError` for a bad config or layer archive,
    ///   `SystemCallError` for host failures.
    public func pull(
        _ reference: Reference, from client: RegistryClient, platform: Platform = .host,
        progress: @escaping @Sendable (PullProgress) -> Void
    ) throws -> PullResult {
        let repository = Self.repository(of: reference)
        let tagOrDigest = reference.digest ?? reference.tag ?? "latest"
        progress(PullProgress(id: tagOrDigest, "Pulling from \(repository)"))

        let top = try client.manifest(repository, reference: tagOrDigest)
        var manifestBytes = top.bytes
        if top.mediaType == ManifestMediaType.ociIndex
            || top.mediaType == ManifestMediaType.dockerManifestList
        {
            let index = try decode(ManifestIndex.self, top.bytes, "manifest list \(top.digest)")
            let chosen = try index.manifest(for: platform)
            let fetched = try client.manifest(repository, reference: chosen.digest)
            guard
                fetched.mediaType == ManifestMediaType.ociManifest
                    || fetched.mediaType == ManifestMediaType.dockerManifest
            else {
                throw RegistryError(
                    .invalidArgument, "manifest \(chosen.digest) is a nested index: rejected")
            }
            manifestBytes = fetched.bytes
        }
        let manifest = try decode(ImageManifest.self, manifestBytes, "manifest \(top.digest)")
        let configBytes = try client.blob(repository, manifest.config)
        let config = try decode(ImageConfig.self, configBytes, "config \(manifest.config.digest)")
        let diffIDs = config.rootfs.diffIDs
        guard diffIDs.count == manifest.layers.count else {
            throw RegistryError(
                .invalidArgument,
                "config \(manifest.config.digest) names \(diffIDs.count) layers, the manifest "
                    + "\(manifest.layers.count)")
        }

        // Decide what to download: each blob once, and only layers not yet stored.
        var missing: [(Descriptor, String)] = []
        for (layer, diffID) in zip(manifest.layers, diffIDs) {
            if graph.hasLayer(diffID) {
                progress(PullProgress(id: Self.shortID(layer.digest), "Already exists"))
            } else if !missing.contains(where: { $0.0.digest == layer.digest }) {
                progress(PullProgress(id: Self.shortID(layer.digest), "Pulling fs layer"))
                missing.append((layer, diffID))
            }
        }
        let staged = try download(missing, repository, client, progress)
        let configID = "sha256:" + SHA256.hash(configBytes)
        let previous = graph.imageID(taggedAs: reference)
        var references = [reference]
        if reference.digest == nil {
            references.append(try Reference(parsing: "\(reference.name)@\(top.digest)"))
        }
        let image = try graph.registerPulled(
            configBytes: configBytes, layers: staged, references: references)
        for (layer, diffID) in zip(manifest.layers, diffIDs) {
            // Lets a later push skip or mount this blob; losing the record costs an upload.
            try? graph.recordDistribution(
                DistributionRecord(
                    digest: layer.digest, size: layer.size, mediaType: layer.mediaType,
                    registry: client.host, repository: repository),
                forLayer: diffID)
        }
        let newer = previous != configID
        progress(PullProgress("Digest: \(top.digest)"))
        progress(
            PullProgress(
                "Status: "
                    + (newer ? "Downloaded newer image for " : "Image is up to date for ")
                    + reference.familiarString))
        return PullResult(image: image, digest: top.digest, downloadedNewer: newer)
    }

    /// Downloads and stages `layers` on `parallelDownloads` threads; on any failure discards
    /// what was staged and throws the first error.
    private func download(
        _ layers: [(Descriptor, String)], _ repository: String, _ client: RegistryClient,
        _ progress: @escaping @Sendable (PullProgress) -> Void
    ) throws -> [PendingLayer] {
        guard !layers.isEmpty else { return [] }
        let work = graph.root + "/image/tmp-pull-" + SHA256.hash(UUID().uuidString).prefix(16)
        try FileSystem.createDirectory(work, mode: 0o700)
        defer { try? FileSystem.removeTree(work) }

        let next = Mutex(0)
        let failure = Mutex<(any Error)?>(nil)
        let results = Mutex<[PendingLayer]>([])
        let done = DispatchGroup()
        let graph = graph
        for _ in 0..<min(parallelDownloads, layers.count) {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                while failure.withLock({ $0 == nil }) {
                    let index = next.withLock { value in
                        defer { value += 1 }
                        return value
                    }
                    guard index < layers.count else { return }
                    let (descriptor, diffID) = layers[index]
                    do {
                        let layer = try Self.fetch(
                            descriptor, diffID: diffID, repository, client, graph,
                            into: work, progress)
                        results.withLock { $0.append(layer) }
                    } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                    }
                }
            }
            thread.name = "swiftd-pull"
            thread.start()
        }
        done.wait()
        let staged = results.withLock { $0 }
        if let error = failure.withLock({ $0 }) {
            for layer in staged { graph.discard(layer) }
            throw error
        }
        return staged
    }

    /// Downloads one layer blob, extracts it into staging and checks its diff ID.
    private static func fetch(
        _ descriptor: Descriptor, diffID: String, _ repository: String, _ client: RegistryClient,
        _ graph: Graph, into work: String, _ progress: @Sendable (PullProgress) -> Void
    ) throws -> PendingLayer {
        let id = shortID(descriptor.digest)
        let file = work + "/" + String(descriptor.digest.dropFirst("sha256:".count))
        defer { try? FileSystem.remove(file) }
        // A connection that breaks mid-blob restarts the blob, twice at most.
        for attempt in 0... {
            do {
                try client.download(repository, descriptor, to: file) { current in
                    progress(
                        PullProgress(
                            id: id, "Downloading", current: current, total: descriptor.size))
                }
                break
            } catch let error as RegistryError where error.kind == .unavailable && attempt < 2 {
                progress(PullProgress(id: id, "Retrying after: \(error.message)"))
            }
        }
        progress(PullProgress(id: id, "Verifying Checksum"))
        progress(PullProgress(id: id, "Download complete"))
        progress(PullProgress(id: id, "Extracting"))
        let layer = try graph.stagePulledLayer(fromFile: file)
        guard layer.diffID == diffID else {
            graph.discard(layer)
            throw RegistryError(
                .invalidArgument,
                "layer \(descriptor.digest) has diff ID \(layer.diffID), the config expects "
                    + "\(diffID): rejected")
        }
        progress(PullProgress(id: id, "Pull complete"))
        return layer
    }

    /// The repository path inside the registry: `library/busybox` of
    /// `docker.io/library/busybox`.
    public static func repository(of reference: Reference) -> String {
        String(reference.name.drop { $0 != "/" }.dropFirst())
    }

    /// The registry host of a reference: `docker.io`, `127.0.0.1:5000`.
    public static func registryHost(of reference: Reference) -> String {
        String(reference.name.prefix { $0 != "/" })
    }

    /// The 12 hex digits that progress messages name a layer by.
    static func shortID(_ digest: String) -> String {
        String(digest.drop { $0 != ":" }.dropFirst().prefix(12))
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ bytes: [UInt8], _ what: String)
        throws -> Value
    {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw RegistryError(.invalidArgument, "\(what) is not valid: \(error)")
        }
    }
}
