import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdGraph
import SwiftdRegistry
import SwiftdSystem

extension Daemon {
    /// `POST /images/create?fromSrc=-`: stores the request body, a tar, as a one-layer image.
    ///
    /// While the body arrives, streams `Importing` messages with the byte count. dockerd 20.10
    /// sends these while it downloads a `fromSrc` URL and none for a body, but clients draw
    /// them either way. The last message is `{"status": IMAGE_ID}`. An error before the first
    /// message becomes the response's status, and a later one (a broken archive) is an `error`
    /// message in the stream. In both cases nothing is stored.
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

        // Spool the body to a file, so that a broken upload stores nothing. The progress
        // buffer keeps only the newest message, because the swiftd client reads the response
        // only after its upload ends, and a write that waits for it must not hold up the body.
        // TODO: the swiftd client draws the import's progress only once the upload ends; it
        // needs to read the response while it sends the body.
        let (messages, sink) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        async let streamed = Self.forward(messages, to: job.stdout)
        var progress = ByteProgress()
        let spool: String
        do {
            spool = try await spoolBody(job, prefix: "import") { count in
                if progress.add(count) { sink.yield(Self.importingMessage(progress.current)) }
            }
        } catch {
            sink.finish()
            _ = await streamed
            throw error
        }
        defer { try? FileSystem.remove(spool) }
        if progress.current > 0 { sink.yield(Self.importingMessage(progress.current)) }
        sink.finish()
        let started = await streamed

        let message = job.environment["message"] ?? ""
        let stored = await storeImport(
            spool: spool, config: imageConfig, reference: reference,
            comment: message.isEmpty ? "Imported from -" : message)
        switch stored {
        case .success(let image):
            events.emit(
                type: "image", action: "import", id: image.id,
                attributes: ["name": reference?.familiarString ?? image.id])
            try await job.stdout.write(Array(try JSONEncoder().encode(ProgressMessage(status: image.id))) + [10])
        case .failure(let error):
            guard started else { throw error }
            log.warning("import failed", [("error", error.message)])
            try await job.stdout.write(Array(try JSONEncoder().encode(ProgressMessage(error: error.message))) + [10])
        }
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

    /// `{"status":"Importing","progressDetail":{"current":N},"progress":"1.2MB"}`, the message
    /// dockerd sends while it imports from a URL.
    /// TODO: add `total` from the request's Content-Length, which the router does not pass to
    /// jobs yet (clients that send chunked bodies, as both docker and swiftd do, have none).
    private static func importingMessage(_ current: Int64) -> [UInt8] {
        (try? progressLine(PullProgress("Importing", current: current))) ?? []
    }

    /// Writes each line of `lines` to `output` until `lines` ends or a write fails; returns
    /// whether any line was written, that is, whether the response has started.
    private static func forward(_ lines: AsyncStream<[UInt8]>, to output: JobOutput) async -> Bool {
        var started = false
        for await line in lines where !line.isEmpty {
            do {
                try await output.write(line)
                started = true
            } catch {
                break
            }
        }
        return started
    }
}

/// The byte count of an upload and when it is worth a progress message, by the rule of
/// moby's `pkg/progress.Reader`: after each further 512 KiB, at most every 100 ms.
struct ByteProgress {
    private(set) var current: Int64 = 0
    private var reported: Int64 = 0
    private var reportedAt: ContinuousClock.Instant?

    static let step: Int64 = 512 * 1024
    static let interval = Duration.milliseconds(100)

    /// Adds `count` bytes and returns whether to send a message now.
    mutating func add(_ count: Int) -> Bool {
        current += Int64(count)
        guard current - reported > Self.step else { return false }
        reported = current
        let now = ContinuousClock.now
        if let reportedAt, now - reportedAt < Self.interval { return false }
        reportedAt = now
        return true
    }
}
