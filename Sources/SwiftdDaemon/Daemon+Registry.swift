import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdGraph
import SwiftdRegistry
import SwiftdSystem

extension Daemon {
    /// Registers `image_create` (`POST /images/create`: a pull with `fromImage`, else an
    /// import) and `pull`.
    func registerRegistryHandlers() throws {
        try engine.register("image_create") { [self] job in
            if job.environment["fromImage"] != nil {
                try await pullImage(job)
            } else {
                try await forward(job, to: "import")
            }
        }
        try engine.register("pull") { [self] job in try await pullImage(job) }
    }

    /// How this daemon reaches registries (`--insecure-registry`, the certs.d directory).
    var registryOptions: RegistryOptions {
        RegistryOptions(insecureRegistries: configuration.insecureRegistries)
    }

    /// Runs the job `name` with `job`'s environment, body and output.
    private func forward(_ job: Job, to name: String) async throws {
        let inner = engine.job(name, job.arguments, environment: job.environment.all)
        inner.stdin.attach { try await job.stdin.read() }
        inner.stdout.attach { bytes in try await job.stdout.write(bytes) }
        try await inner.runOrThrow()
    }

    /// `POST /images/create?fromImage=NAME&tag=TAG[&platform=OS/ARCH]`: pulls the image and
    /// streams Docker's JSON progress messages. A failure after the stream started is sent as
    /// an `error` message in the stream; the image is registered only when all of it verified.
    private func pullImage(_ job: Job) async throws {
        let name = job.environment["fromImage"] ?? ""
        let tag = job.environment["tag"] ?? ""
        let text =
            tag.isEmpty ? name : (tag.hasPrefix("sha256:") ? "\(name)@\(tag)" : "\(name):\(tag)")
        let reference = try Reference(parsing: text)
        let platform = try job.environment["platform"].flatMap {
            $0.isEmpty ? nil : try Platform(parsing: $0)
        } ?? .host
        let credentials = try job.environment["registryAuth"].flatMap {
            try RegistryCredentials(registryAuthHeader: $0)
        }

        let (messages, sink) = AsyncStream<PullProgress>.makeStream()
        let puller = ImagePuller(graph: graph)
        let hosts = registryHosts(for: reference)
        let options = registryOptions
        let log = log
        async let outcome: Result<PullResult, any Error> = onThread("swiftd-pull") {
            defer { sink.finish() }
            var lastError: (any Error)?
            for (index, host) in hosts.enumerated() {
                let client = RegistryClient(
                    host: host, credentials: host == hosts.last ? credentials : nil,
                    options: options)
                do {
                    return try puller.pull(
                        reference, from: client, platform: platform
                    ) { sink.yield($0) }
                } catch let error as RegistryError where index < hosts.count - 1 {
                    // A mirror that fails is skipped for the registry itself.
                    log.warning("registry mirror failed", [("mirror", host), ("error", "\(error)")])
                    lastError = error
                }
            }
            throw lastError ?? RegistryError(.internalError, "no registry to pull from")
        }
        var writable = true
        for await message in messages where writable {
            do {
                try await job.stdout.write(Self.progressLine(message))
            } catch {
                // The client went away; the pull goes on so that the store stays consistent.
                writable = false
            }
        }
        switch await outcome {
        case .success(let result):
            events.emit(
                type: "image", action: "pull", id: reference.familiarString,
                attributes: ["name": reference.familiarString, "digest": result.digest])
        case .failure(let error):
            let message = (error as? any ClassifiedError)?.message ?? "\(error)"
            log.warning("pull failed", [("image", reference.familiarString), ("error", message)])
            if writable {
                let line = ProgressMessage(error: message)
                try await job.stdout.write(Array(try JSONEncoder().encode(line)) + [10])
            }
        }
    }

    /// The hosts to try for `reference`: the mirrors first for Docker Hub, then the registry.
    private func registryHosts(for reference: Reference) -> [String] {
        let host = ImagePuller.registryHost(of: reference)
        guard host == "docker.io" else { return [host] }
        let mirrors = configuration.registryMirrors.compactMap { mirror -> String? in
            let url = URL(string: mirror.contains("://") ? mirror : "https://" + mirror)
            guard let name = url?.host else { return nil }
            return url?.port.map { "\(name):\($0)" } ?? name
        }
        return mirrors + [host]
    }

    /// One line of Docker's JSON progress stream.
    static func progressLine(_ message: PullProgress) throws -> [UInt8] {
        var line = PullProgressLine(status: message.status, id: message.id)
        if let current = message.current {
            line.progressDetail = .init(current: current, total: message.total)
            line.progress = progressBar(current: current, total: message.total)
        }
        return Array(try JSONEncoder().encode(line)) + [10]
    }

    /// `[=====>        ]  1.2MB/3.4MB`, as the `progress` field that old clients print.
    private static func progressBar(current: Int64, total: Int64?) -> String {
        guard let total, total > 0 else { return decimalSize(current) }
        let width = 50
        let filled = Int(min(Double(current) / Double(total), 1) * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "")
        let padded = bar.padding(toLength: width, withPad: " ", startingAt: 0)
        return "[\(padded)] \(decimalSize(current))/\(decimalSize(total))"
    }

    private static func decimalSize(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes)B" : String(format: "%.3g%@", value, units[unit])
    }
}

/// A progress message with `progressDetail`, as dockerd streams during a pull.
struct PullProgressLine: Encodable {
    var status: String
    var id: String?
    var progressDetail: Detail?
    var progress: String?

    struct Detail: Encodable {
        var current: Int64
        var total: Int64?
    }
}

/// Runs blocking `body` on a thread of its own, off Swift concurrency's pool, and returns its
/// outcome.
func onThread<Value: Sendable>(
    _ name: String, _ body: @escaping @Sendable () throws -> Value
) async -> Result<Value, any Error> {
    await withCheckedContinuation { continuation in
        let thread = Thread {
            continuation.resume(returning: Result { try body() })
        }
        thread.name = name
        thread.start()
    }
}
