import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdGraph
import SwiftdRegistry
import SwiftdSystem

/// The response of `GET /distribution/{name}/json`.
struct DistributionInspectResponse: Encodable {
    var Descriptor: DescriptorSummary
    var Platforms: [DistributionPlatform]

    /// The manifest or index that the reference names in the registry.
    struct DescriptorSummary: Encodable {
        var mediaType: String
        var digest: String
        var size: Int
    }
}

/// A platform as the OCI image spec writes it, in an index entry or an image config.
struct DistributionPlatform: Codable {
    var architecture: String
    var os: String
    var osVersion: String?
    var osFeatures: [String]?
    var variant: String?

    enum CodingKeys: String, CodingKey {
        case architecture
        case os
        case osVersion = "os.version"
        case osFeatures = "os.features"
        case variant
    }
}

extension Daemon {
    /// Registers `distribution_inspect`.
    func registerDistributionHandlers() throws {
        try engine.register("distribution_inspect") { [self] job in
            try await inspectDistribution(job)
        }
    }

    /// `GET /distribution/{name}/json`: the descriptor of the manifest or index that `name`
    /// names in its registry, and its platforms, without pulling anything. Uses the
    /// `X-Registry-Auth` credentials and, for Docker Hub, the configured mirrors first.
    ///
    /// - Throws: `.invalidArgument` for a malformed reference; `RegistryError` as the
    ///   registry responds (`.notFound` for an unknown repository or tag).
    func inspectDistribution(_ job: Job) async throws {
        let reference = try Reference(parsing: try job.argument("name"))
        let credentials = try job.environment["registryAuth"].flatMap {
            try RegistryCredentials(registryAuthHeader: $0)
        }
        // One snapshot, so that a reload in between cannot mix old mirrors with new options.
        let settings = Self.registrySettings.values
        let hosts = RegistrySettings.pullHosts(for: reference, mirrors: settings.mirrors)
        let options = RegistryOptions(insecureRegistries: settings.insecureRegistries)
        log.debug(
            "distribution inspect requested",
            [("image", reference.familiarString), ("user", credentials?.username ?? "")])
        let log = log
        let response = try await onThread("swiftd-distribution") {
            var lastError: (any Error)?
            for (index, host) in hosts.enumerated() {
                // The credentials are for the named registry, not for its mirrors.
                let client = RegistryClient(
                    host: host, credentials: index == hosts.count - 1 ? credentials : nil,
                    options: options)
                do {
                    return try Self.distribution(of: reference, from: client)
                } catch let error as RegistryError where index < hosts.count - 1 {
                    log.warning("registry mirror failed", [("mirror", host), ("error", "\(error)")])
                    lastError = error
                }
            }
            throw lastError ?? RegistryError(.internalError, "no registry to inspect")
        }.get()
        try await job.stdout.write(Array(try JSONEncoder().encode(response)))
    }

    /// Fetches the manifest that `reference` names and describes it: one platform per entry
    /// of an index, or the platform of a single manifest's config. Blocks.
    static func distribution(of reference: Reference, from client: RegistryClient) throws
        -> DistributionInspectResponse
    {
        let repository = ImagePuller.repository(of: reference)
        let manifest = try client.manifest(
            repository, reference: reference.digest ?? reference.tag ?? "latest")
        let descriptor = DistributionInspectResponse.DescriptorSummary(
            mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.count)
        let platforms: [DistributionPlatform]
        switch manifest.mediaType {
        case ManifestMediaType.ociIndex, ManifestMediaType.dockerManifestList:
            let index = try decode(IndexPlatforms.self, manifest.bytes, "index \(manifest.digest)")
            platforms = index.manifests.compactMap(\.platform)
        default:
            let image = try decode(ImageManifest.self, manifest.bytes, "manifest \(manifest.digest)")
            let config = try client.blob(repository, image.config)
            platforms = [try decode(DistributionPlatform.self, config, "config \(image.config.digest)")]
        }
        return DistributionInspectResponse(Descriptor: descriptor, Platforms: platforms)
    }

    /// The `platform` of each entry of an index, with the fields that `Platform` leaves out.
    private struct IndexPlatforms: Decodable {
        var manifests: [Entry]

        struct Entry: Decodable {
            var platform: DistributionPlatform?
        }
    }

    private static func decode<Value: Decodable>(_ type: Value.Type, _ bytes: [UInt8], _ subject: String)
        throws -> Value
    {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw RegistryError(.invalidArgument, "\(subject) is not valid: \(error)")
        }
    }
}
