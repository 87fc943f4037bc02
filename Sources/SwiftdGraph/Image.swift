import SwiftdCrypto

/// An image in the store: its config and the tags that point at it.
public struct Image: Sendable {
    /// `sha256:<hex>`, the sha256 of the exact stored config bytes.
    public var id: String
    public var config: ImageConfig
    /// Tags in the short form `docker images` shows, such as `busybox:latest`, sorted.
    public var repoTags: [String]
    /// Digest references (`busybox@sha256:…`) that point at the image, sorted.
    public var repoDigests: [String]
    /// The sum of the layers' uncompressed tar sizes, in bytes.
    public var size: Int64
    /// The config's `created` time (RFC 3339), or empty.
    public var created: String

    /// The diff IDs of the layers, bottom first.
    public var diffIDs: [String] { config.rootfs.diffIDs }
}

/// A stored layer: where its files are and how to reach them by a short name.
struct LayerRecord: Codable, Sendable {
    /// `sha256:<hex>` of the uncompressed tar.
    var diffID: String
    /// The uncompressed tar's length in bytes.
    var size: Int64
    /// The directory under overlay2/ that holds `diff/`.
    var cacheID: String
    /// The 26-character name under overlay2/l/ that links to `diff/`.
    var link: String
}

/// A container's read-write layer.
struct ContainerRecord: Codable, Sendable {
    var id: String
    var imageID: String
    /// The driver that made the layer; nil (records before vfs existed) means overlay2.
    var driver: StorageDriver?
    /// The image's layers, bottom first, by diff ID, so that the container keeps them after
    /// `rmi -f` deletes its image. Nil in records written before the field existed: the
    /// image's config gives them then.
    var diffIDs: [String]?

    /// Returns the container's image layers, bottom first, or nil when neither the record nor
    /// the image in `state` has them.
    func layerStack(_ state: GraphState) -> [String]? {
        diffIDs ?? state.images[imageID]?.rootfs.diffIDs
    }

    var isVFS: Bool { driver == .vfs }
}

/// The layer-ID rules of the OCI image spec.
public enum ChainID {
    /// The chain IDs of a stack of layers given bottom first: chainID(L0) = diffID(L0),
    /// chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
    public static func chainIDs(_ diffIDs: [String]) -> [String] {
        var result: [String] = []
        for diffID in diffIDs {
            if let previous = result.last {
                result.append("sha256:" + SHA256.hash(previous + " " + diffID))
            } else {
                result.append(diffID)
            }
        }
        return result
    }
}
