import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdGraph
import SwiftdRegistry
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Daemon {
    /// Registers save, load, export, commit, container changes, history, image prune and df.
    func registerArchiveHandlers() throws {
        try engine.register("image_export") { [self] job in
            // `GET /images/get?names=a&names=b` or `GET /images/{name}/get`.
            var names = job.environment["names"].map { $0.split(separator: "\n").map(String.init) } ?? []
            if let name = job.environment["name"] { names = [name] }
            guard !names.isEmpty else { throw SwiftdError(.invalidArgument, "no image names given") }
            let images = try names.map { try lookUpImage($0) }
            try await streamFile(job) { path in try graph.save(names, to: path) }
            for (name, image) in zip(names, images) {
                events.emit(type: "image", action: "save", id: image.id, attributes: ["name": name])
            }
        }
        try engine.register("load") { [self] job in try await loadImages(job) }
        try engine.register("export") { [self] job in
            let container = try container(try job.argument("name"))
            // The rootfs must be mounted to read it; a stopped container is mounted for the export.
            let wasRunning = container.isRunning
            if !wasRunning { _ = try graph.mountContainer(id: container.id) }
            defer { if !wasRunning && !container.isRunning { try? graph.unmountContainer(id: container.id) } }
            try await streamFile(job) { path in try graph.export(containerID: container.id, to: path) }
            emit(container, "export")
        }
        try engine.register("container_changes") { [self] job in
            let container = try container(try job.argument("name"))
            let changes = try graph.changes(containerID: container.id).map { ["Path": JSONScalar.string($0.path), "Kind": .int($0.kind.rawValue)] }
            try await job.stdout.write(Array(try JSONEncoder().encode(changes)))
        }
        try engine.register("commit") { [self] job in try await commit(job) }
        try engine.register("history") { [self] job in
            let entries = try graph.history(try job.argument("name")).map { entry -> [String: JSONScalar] in
                [
                    "Id": .string(entry.id), "Created": .int64(entry.created), "CreatedBy": .string(entry.createdBy),
                    "Tags": .strings(entry.tags), "Size": .int64(entry.size), "Comment": .string(entry.comment),
                ]
            }
            try await job.stdout.write(Array(try JSONEncoder().encode(entries)))
        }
        try engine.register("images_prune") { [self] job in try await pruneImages(job) }
    }

    /// Writes a file made by `produce` to the job's stdout in chunks, then removes it.
    ///
    /// NOTE: the archive goes through a temporary file under the root, so it needs that much
    /// free disk; streaming through a pipe would not.
    func streamFile(_ job: Job, produce: (String) throws -> Void) async throws {
        let directory = "\(configuration.root)/tmp"
        try FileSystem.createDirectory(directory, mode: 0o700)
        let path = "\(directory)/out-\(randomID().prefix(16)).tar"
        defer { try? FileSystem.remove(path) }
        try produce(path)
        let fd = try retryingInterrupts("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", path) { read(fd, raw.baseAddress, raw.count) }
            }
            if count == 0 { break }
            try await job.stdout.write(Array(buffer[0..<count]))
        }
    }

    /// Writes the request body to a new file under the root's `tmp` and returns its path.
    func spoolBody(_ job: Job, prefix: String) async throws -> String {
        let directory = "\(configuration.root)/tmp"
        try FileSystem.createDirectory(directory, mode: 0o700)
        let spool = "\(directory)/\(prefix)-\(randomID().prefix(16)).tar"
        let fd = try retryingInterrupts("open", spool) { open(spool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        do {
            while let chunk = try await job.stdin.read() {
                try FileSystem.writeAll(fd, chunk, subject: spool)
            }
            close(fd)
        } catch {
            close(fd)
            try? FileSystem.remove(spool)
            throw error
        }
        return spool
    }

    /// `POST /commit?container=…`: a new image from the container's changes; a running
    /// container is paused meanwhile unless `pause=0`.
    private func commit(_ job: Job) async throws {
        guard let name = job.environment["container"], !name.isEmpty else {
            throw SwiftdError(.invalidArgument, "missing container")
        }
        let container = try container(name)
        let record = container.record
        var reference: Reference?
        if let repo = job.environment["repo"], !repo.isEmpty {
            let tag = job.environment["tag"].flatMap { $0.isEmpty ? nil : $0 }
            reference = try Reference(parsing: tag.map { "\(repo):\($0)" } ?? repo)
        }
        let pause = job.environment["pause"].map { $0 != "0" && $0 != "false" } ?? true
        let mustPause = pause && record.state.Running && !record.state.Paused
        if mustPause { try exec.pause(containerID: container.id) }
        defer { if mustPause { try? exec.resume(containerID: container.id) } }
        let mounted = record.state.Running
        if !mounted { _ = try graph.mountContainer(id: container.id) }
        defer { if !mounted && !container.isRunning { try? graph.unmountContainer(id: container.id) } }

        var config = ImageConfig.ContainerConfig(
            user: record.config.User.isEmpty ? nil : record.config.User, env: record.config.Env,
            cmd: record.config.Cmd, entrypoint: record.config.Entrypoint,
            workingDir: record.config.WorkingDir.isEmpty ? nil : record.config.WorkingDir,
            labels: record.config.Labels.isEmpty ? nil : record.config.Labels, stopSignal: record.config.StopSignal)
        try config.apply(changes: splitChanges(job.environment["changes"]))
        let image = try graph.commit(
            containerID: container.id, config: config,
            comment: job.environment["comment"].flatMap { $0.isEmpty ? nil : $0 },
            author: job.environment["author"].flatMap { $0.isEmpty ? nil : $0 },
            createdBy: ([record.path] + record.args).joined(separator: " "))
        if let reference { try graph.tag(image.id, as: reference) }
        emit(container, "commit")
        try await job.stdout.write(Array(try JSONEncoder().encode(["Id": image.id])))
    }
}

/// JSON values for hand-built responses.
enum JSONScalar: Encodable {
    case string(String)
    case strings([String])
    case int(Int)
    case int64(Int64)
    case objects([[String: String]])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .strings(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .int64(let value): try container.encode(value)
        case .objects(let value): try container.encode(value)
        }
    }
}

extension Daemon {
    /// `POST /images/load`: loads a `docker save` or OCI archive. Without `quiet`, streams a
    /// `Loading layer` line per layer as dockerd does; an error after the first line goes into
    /// the stream, an earlier one is the response's status.
    func loadImages(_ job: Job) async throws {
        let spool = try await spoolBody(job, prefix: "load")
        defer { try? FileSystem.remove(spool) }
        let quiet = job.environment.bool("quiet")
        let (lines, sink) = AsyncStream<[UInt8]>.makeStream()
        let graph = graph
        async let outcome: Result<[Image], any Error> = onThread("swiftd-load") {
            defer { sink.finish() }
            return try graph.load(
                fromFile: spool,
                progress: { line in
                    if let bytes = try? JSONEncoder().encode(ProgressMessage(stream: line + "\n")) {
                        sink.yield(Array(bytes) + [10])
                    }
                },
                layerProgress: { diffID, done, total in
                    guard !quiet else { return }
                    let id = String(diffID.dropFirst("sha256:".count).prefix(12))
                    let message = PullProgress(id: id, "Loading layer", current: done, total: total)
                    if let line = try? Self.progressLine(message) { sink.yield(line) }
                })
        }
        var started = false
        var writable = true
        for await line in lines where writable {
            do {
                try await job.stdout.write(line)
                started = true
            } catch {
                writable = false
            }
        }
        switch await outcome {
        case .success(let images):
            for image in images {
                events.emit(
                    type: "image", action: "load", id: image.id,
                    attributes: ["name": image.repoTags.first ?? image.id])
            }
            if !started { try await job.stdout.write([]) }
        case .failure(let error):
            let message =
                ((error as? any ClassifiedError)?.message ?? "\(error)")
                .replacingOccurrences(of: spool, with: "the archive")
            guard started else {
                throw SwiftdError((error as? any ClassifiedError)?.kind ?? .internalError, message)
            }
            log.warning("load failed", [("error", message)])
            guard writable else { return }
            try await job.stdout.write(Array(try JSONEncoder().encode(ProgressMessage(error: message))) + [10])
        }
    }
}

// MARK: image prune

extension Daemon {
    /// `POST /images/prune`: dangling images, or with the filter `dangling=false` every image
    /// no container uses, narrowed by `label`, `label!` and `until` as in dockerd.
    private func pruneImages(_ job: Job) async throws {
        let filters = try FilterArguments(
            json: job.environment["filters"], allowed: ["dangling", "label", "label!", "until"])
        let includingNamed = try filters.bool("dangling") == false
        let until = try Self.pruneCutoff(filters["until"] ?? [])
        let report = try graph.pruneImages(includingNamed: includingNamed) { image in
            let labels = image.config.config?.labels ?? [:]
            guard filters.labelsMatch(labels) else { return false }
            if let unwanted = filters["label!"],
                unwanted.contains(where: { FilterArguments.labelMatches($0, labels) })
            {
                return false
            }
            // Only images created before the cutoff go.
            if let until, let created = parseTimestamp(image.created), created >= until {
                return false
            }
            return true
        }
        let items = imageDeleteItems(report.deleted)
        for item in items {
            for (key, value) in item {
                events.emit(type: "image", action: key == "Untagged" ? "untag" : "delete", id: value)
            }
        }
        let body: [String: JSONScalar] = [
            "ImagesDeleted": .objects(items), "SpaceReclaimed": .int64(report.spaceReclaimed),
        ]
        try await job.stdout.write(Array(try JSONEncoder().encode(body)))
    }
}

/// Turns the graph's `Untagged: REF` and `Deleted: ID` report lines into the
/// `{"Untagged": REF}` and `{"Deleted": ID}` items of dockerd's image delete and prune
/// responses.
func imageDeleteItems(_ lines: [String]) -> [[String: String]] {
    lines.compactMap { line in
        let parts = line.split(separator: ":", maxSplits: 1).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.count == 2 else { return nil }
        return [parts[0]: parts[1]]
    }
}
