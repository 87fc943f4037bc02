import Foundation

/// The manifest media types a registry may respond with.
public enum ManifestMediaType {
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList =
        "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    /// Every type swiftd reads, for the `Accept` header.
    static let accepted = [dockerManifest, dockerManifestList, ociManifest, ociIndex]
}

/// A content descriptor: media type, digest and size of a blob or manifest.
public struct Descriptor: Codable, Sendable, Equatable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var platform: Platform?
    public var urls: [String]?

    public init(mediaType: String, digest: String, size: Int64, platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.urls = nil
    }
}

/// An image manifest (Docker schema 2 or OCI).
public struct ImageManifest: Codable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]

    public init(mediaType: String, config: Descriptor, layers: [Descriptor]) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }
}

/// A manifest list (Docker) or image index (OCI).
public struct ManifestIndex: Codable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
}

/// An operating system and CPU architecture, as in an index's `platform` field.
public struct Platform: Codable, Sendable, Equatable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    enum CodingKeys: String, CodingKey {
        case os
        case architecture
        case variant
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/arch[/variant]`, such as `linux/arm64/v8`.
    ///
    /// - Throws: `RegistryError(.invalidArgument)` for any other shape.
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "/", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw RegistryError(
                .invalidArgument, "invalid platform \"\(text)\": expected os/arch[/variant]")
        }
        self.init(
            os: String(parts[0]), architecture: String(parts[1]),
            variant: parts.count == 3 ? String(parts[2]) : nil)
    }

    /// The platform this daemon runs containers for: linux and the machine's architecture.
    public static var host: Platform {
        var names = utsname()
        uname(&names)
        let machine = withUnsafeBytes(of: &names.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch machine {
        case "aarch64": return Platform(os: "linux", architecture: "arm64", variant: "v8")
        case "armv7l": return Platform(os: "linux", architecture: "arm", variant: "v7")
        case "i686", "i386": return Platform(os: "linux", architecture: "386")
        default: return Platform(os: "linux", architecture: "amd64")
        }
    }

    /// Whether an index entry for `candidate` serves this platform: same OS and architecture,
    /// and the same variant when both name one (arm64's `v8` is its default).
    func matches(_ candidate: Platform) -> Bool {
        guard candidate.os == os, candidate.architecture == architecture else { return false }
        guard let variant, let other = candidate.variant else { return true }
        return variant == other
    }

    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }
}

extension ManifestIndex {
    /// Chooses the manifest for `platform` from the index.
    ///
    /// - Throws: `RegistryError(.notFound)` naming the platform and those the index has.
    func manifest(for platform: Platform) throws -> Descriptor {
        let images = manifests.filter { $0.platform?.os != "unknown" }
        if let match = images.first(where: { $0.platform.map(platform.matches) ?? false }) {
            return match
        }
        let offered = images.compactMap { $0.platform?.description }.joined(separator: ", ")
        throw RegistryError(
            .notFound,
            "no matching manifest for \(platform) in the manifest list entries (offered: "
                + "\(offered.isEmpty ? "none" : offered))")
    }
}
