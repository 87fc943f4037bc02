/// One entry of a `docker save` archive's `manifest.json`.
struct DockerManifestEntry: Codable, Sendable {
    /// The config's path in the archive: `<hex>.json` (Docker before 25) or
    /// `blobs/sha256/<hex>`.
    var config: String
    var repoTags: [String]?
    /// The layer tars' paths, bottom first: `<v1 id>/layer.tar` or `blobs/sha256/<diff hex>`.
    var layers: [String]

    enum CodingKeys: String, CodingKey {
        case config = "Config"
        case repoTags = "RepoTags"
        case layers = "Layers"
    }
}

/// An OCI content descriptor.
struct OCIDescriptor: Codable, Sendable {
    var mediaType: String
    var digest: String
    var size: Int64
    var annotations: [String: String]?
}

/// An OCI image index (`index.json` of an image layout).
struct OCIIndex: Codable, Sendable {
    var schemaVersion: Int
    var mediaType: String?
    var manifests: [OCIDescriptor]
}

/// An OCI (or Docker schema 2) image manifest.
struct OCIManifest: Codable, Sendable {
    var schemaVersion: Int
    var mediaType: String?
    var config: OCIDescriptor
    var layers: [OCIDescriptor]
}

/// `oci-layout`.
struct OCILayout: Codable, Sendable {
    var imageLayoutVersion: String
}

enum MediaType {
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
}

/// The annotations that name an image in an OCI layout.
enum Annotation {
    /// containerd's and Docker 25's full reference, `docker.io/library/busybox:latest`.
    static let imageName = "io.containerd.image.name"
    /// The OCI ref name: Docker writes the tag, skopeo the reference it was given.
    static let refName = "org.opencontainers.image.ref.name"
}
