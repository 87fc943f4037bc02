import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdGraph
import SwiftdRegistry
import SwiftdSystem

extension Daemon {
    /// Stores the body of `POST /images/create?fromSrc=-`, a tar, as a one-layer image and
    /// writes `{"status": IMAGE_ID}`.
    ///
    /// As with dockerd, a body import sends no progress: every error, a broken archive too, is
    /// the response's status, which clients such as docker-py check instead of the stream.
    /// Nothing is stored on an error. The swiftd client draws the upload's progress itself.
    func importImage(_ job: Job) async throws {
        guard let source = job.environment["fromSrc"] else {
            throw SwiftdError(.unsupported, "pulling images (fromImage) is not supported yet; use fromSrc=- to import")
        }
        guard source == "-" else {
            throw SwiftdError(.unsupported, "importing from a URL is not supported; send the archive as the body with fromSrc=-")
        }
        var reference: Reference?
        if let repo = job.environment["repo"], !repo.isEmpty {
            let tag = job.environment["tag"].flatMap { $0.isEmpty ? nil : $0 }
            reference = try Reference(parsing: tag.map { "\(repo):\($0)" } ?? repo)
        }

        var imageConfig: ImageConfig.ContainerConfig?
        let changes = splitChanges(job.environment["changes"])
        if !changes.isEmpty {
            var config = ImageConfig.ContainerConfig()
            try config.apply(changes: changes)
            imageConfig = config
        }

        // Spool the body to a file, so that a broken upload stores nothing.
        let spool = try await spoolBody(job, prefix: "import")
        defer { try? FileSystem.remove(spool) }
        let message = job.environment["message"] ?? ""
        let image = try await storeImport(
            spool: spool, config: imageConfig, reference: reference,
            comment: message.isEmpty ? "Imported from -" : message
        ).get()
        events.emit(
            type: "image", action: "import", id: image.id,
            attributes: ["name": reference?.familiarString ?? image.id])
        try await job.stdout.write(Array(try JSONEncoder().encode(ProgressMessage(status: image.id))) + [10])
    }

    /// Extracts the spooled archive as a layer on its own thread and registers the image and
    /// its tag. The error's message names `the archive`, not the spool file.
    private func storeImport(
        spool: String, config: ImageConfig.ContainerConfig?, reference: Reference?, comment: String
    ) async -> Result<Image, SwiftdError> {
        let graph = graph
        let now = timestamp()
        let outcome = await onThread("swiftd-import") { () throws -> Image in
            let diffID = try graph.importLayer(fromFile: spool).diffID
            let imageConfig = ImageConfig(
                architecture: "amd64", os: "linux", created: now, config: config,
                rootfs: .init(diffIDs: [diffID]),
                history: [.init(created: now, createdBy: "", comment: comment)])
            let image = try graph.createImage(imageConfig)
            if let reference { try graph.tag(image.id, as: reference) }
            return image
        }
        return outcome.mapError { error in
            switch error {
            case let error as SystemCallError:
                return SwiftdError(.invalidArgument, "invalid archive: \(error.reason)")
            case let error as any ClassifiedError:
                return SwiftdError(error.kind, error.message.replacingOccurrences(of: spool, with: "the archive"))
            default:
                return SwiftdError(.internalError, "\(error)")
            }
        }
    }
}
