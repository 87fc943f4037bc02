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
        try engine.register("push") { [self] job in try await pushImage(job) }
        try engine.register("auth") { [self] job in try await authenticate(job) }
        try engine.register("search") { [self] job in try await search(job) }
        try registerDistributionHandlers()
    }

    /// The registry settings of the daemon in this process (one daemon per process), set at
    /// start-up and replaced on SIGHUP; each pull and push reads them when it starts.
    static let registrySettings = RegistrySettings()

    /// Makes `configuration`'s mirrors and insecure registries the ones that pulls and pushes
    /// starting from now use. Logs the new settings to `log` when they changed.
    static func applyRegistrySettings(of configuration: DaemonConfiguration, log: Logger?) {
        let values = RegistrySettings.Values(configuration)
        guard registrySettings.replace(with: values), let log else { return }
        // Mirror hosts only: a mirror URL may carry a user name and password.
        let mirrors = values.mirrors.compactMap(RegistrySettings.mirrorHost)
        log.info(
            "registry settings reloaded",
            [
                ("mirrors", mirrors.joined(separator: ",")),
                ("insecure-registries", values.insecureRegistries.joined(separator: ",")),
            ])
    }

    /// The connection options of this daemon's registries (`--insecure-registry`, the
    /// certs.d directory).
    var registryOptions: RegistryOptions { Self.registrySettings.options() }

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
        let platform =
            try job.environment["platform"].flatMap {
                $0.isEmpty ? nil : try Platform(parsing: $0)
            } ?? .host
        let credentials = try job.environment["registryAuth"].flatMap {
            try RegistryCredentials(registryAuthHeader: $0)
        }
        log.debug(
            "pull requested",
            [
                ("image", reference.familiarString), ("platform", "\(platform)"),
                ("user", credentials?.username ?? ""),
            ])

        let (messages, sink) = AsyncStream<PullProgress>.makeStream()
        let puller = ImagePuller(graph: graph)
        // One snapshot, so that a reload in between cannot mix old mirrors with new options.
        let settings = Self.registrySettings.values
        let hosts = RegistrySettings.pullHosts(for: reference, mirrors: settings.mirrors)
        let options = RegistryOptions(insecureRegistries: settings.insecureRegistries)
        let log = log
        async let outcome: Result<PullResult, any Error> = onThread("swiftd-pull") {
            defer { sink.finish() }
            var lastError: (any Error)?
            for (index, host) in hosts.enumerated() {
                // The credentials are for the named registry, not for its mirrors.
                let client = RegistryClient(
                    host: host, credentials: index == hosts.count - 1 ? credentials : nil,
                    options: options)
                log.debug(
                    "pulling from registry",
                    [("image", reference.familiarString), ("registry", host)])
                do {
                    return try puller.pull(
                        reference, from: client, platform: platform
                    ) { sink.yield($0) }
                } catch let error as RegistryError where index < hosts.count - 1 {
                    // A mirror that fails is skipped for the registry itself.
                    log.warning(
                        "registry mirror failed", [("mirror", host), ("error", "\(error)")])
                    lastError = error
                }
            }
            throw lastError ?? RegistryError(.internalError, "no registry to pull from")
        }
        let writable = await relay(messages, to: job)
        switch await outcome {
        case .success(let result):
            events.emit(
                type: "image", action: "pull", id: reference.familiarString,
                attributes: ["name": reference.familiarString, "digest": result.digest])
        case .failure(let error):
            try await reportFailure(error, of: "pull", reference, to: job, writable: writable)
        }
    }

    /// `POST /images/{name}/push?tag=TAG`: pushes the local image `name:tag` to its
    /// registry, streaming progress; failures are sent inside the stream.
    private func pushImage(_ job: Job) async throws {
        let name = try job.argument("name")
        let tag = job.environment["tag"] ?? ""
        let reference = try Reference(parsing: tag.isEmpty ? name : "\(name):\(tag)")
        guard reference.digest == nil else {
            throw SwiftdError(.invalidArgument, "cannot push a digest reference: \(name)")
        }
        _ = try graph.image(reference.familiarString)
        let credentials = try job.environment["registryAuth"].flatMap {
            try RegistryCredentials(registryAuthHeader: $0)
        }
        log.debug(
            "push requested",
            [("image", reference.familiarString), ("user", credentials?.username ?? "")])
        let client = RegistryClient(
            host: ImagePuller.registryHost(of: reference), credentials: credentials,
            options: registryOptions)
        let pusher = ImagePusher(graph: graph)
        let (messages, sink) = AsyncStream<PullProgress>.makeStream()
        async let outcome: Result<PushResult, any Error> = onThread("swiftd-push") {
            defer { sink.finish() }
            return try pusher.push(
                reference.familiarString, to: reference, client: client
            ) { sink.yield($0) }
        }
        let writable = await relay(messages, to: job)
        switch await outcome {
        case .success(let result):
            events.emit(
                type: "image", action: "push", id: reference.familiarString,
                attributes: ["name": reference.familiarString, "digest": result.digest])
        case .failure(let error):
            try await reportFailure(error, of: "push", reference, to: job, writable: writable)
        }
    }

    /// Writes progress messages to the job's output until the stream ends; returns false when
    /// the client went away (the operation goes on so that the store stays consistent).
    private func relay(_ messages: AsyncStream<PullProgress>, to job: Job) async -> Bool {
        var writable = true
        for await message in messages where writable {
            do {
                try await job.stdout.write(Self.progressLine(message))
            } catch {
                writable = false
            }
        }
        return writable
    }

    /// Logs a failed pull or push and sends it as the stream's last message.
    private func reportFailure(
        _ error: any Error, of operation: String, _ reference: Reference, to job: Job,
        writable: Bool
    ) async throws {
        let message = (error as? any ClassifiedError)?.message ?? "\(error)"
        log.warning(
            "\(operation) failed", [("image", reference.familiarString), ("error", message)])
        guard writable else { return }
        let line = ProgressMessage(error: message)
        try await job.stdout.write(Array(try JSONEncoder().encode(line)) + [10])
    }

    /// `POST /auth` with `{"username", "password", "serveraddress"}`: checks the credentials
    /// against the registry. The password is never logged.
    private func authenticate(_ job: Job) async throws {
        struct Body: Decodable {
            var username: String?
            var password: String?
            var serveraddress: String?
        }
        let body = try JSONDecoder().decode(
            Body.self, from: Data((job.environment["body"] ?? "{}").utf8))
        guard let username = body.username, !username.isEmpty else {
            throw SwiftdError(.invalidArgument, "username is required")
        }
        var server = body.serveraddress ?? ""
        for prefix in ["https://", "http://"] where server.hasPrefix(prefix) {
            server.removeFirst(prefix.count)
        }
        if server.hasSuffix("/v1/") || server.hasSuffix("/v2/") { server.removeLast(4) }
        if server.isEmpty || server == "index.docker.io" { server = "docker.io" }
        log.debug("login requested", [("registry", server), ("user", username)])
        let client = RegistryClient(
            host: server,
            credentials: RegistryCredentials(username: username, password: body.password ?? ""),
            options: registryOptions)
        let result = await onThread("swiftd-login") { try client.login() }
        try result.get()
        let reply = ["Status": "Login Succeeded", "IdentityToken": ""]
        try await job.stdout.write(Array(try JSONEncoder().encode(reply)))
    }

    /// `GET /images/search?term=[HOST/]TERM&limit=N`: the registry's search results, in
    /// the Engine API's shape.
    private func search(_ job: Job) async throws {
        var term = job.environment["term"] ?? ""
        guard !term.isEmpty else { throw SwiftdError(.invalidArgument, "term is required") }
        var host = "docker.io"
        if let slash = term.firstIndex(of: "/") {
            let first = String(term[..<slash])
            if first.contains(".") || first.contains(":") || first == "localhost" {
                host = first
                term = String(term[term.index(after: slash)...])
            }
        }
        let limit = job.environment.int("limit") ?? 25
        let credentials = try job.environment["registryAuth"].flatMap {
            try RegistryCredentials(registryAuthHeader: $0)
        }
        let client = RegistryClient(
            host: host == "docker.io" ? "index.docker.io" : host, credentials: credentials,
            options: registryOptions)
        let query = term
        let results = try await onThread("swiftd-search") {
            try client.search(query, limit: limit)
        }.get()
        let shaped = results.map { result in
            SearchResultLine(
                name: result.name, description: result.description ?? "",
                star_count: result.starCount ?? 0, is_official: result.isOfficial ?? false,
                is_automated: result.isAutomated ?? false)
        }
        try await job.stdout.write(Array(try JSONEncoder().encode(shaped)))
    }

    /// One line of Docker's JSON progress stream.
    static func progressLine(_ message: PullProgress) throws -> [UInt8] {
        var line = PullProgressLine(status: message.status, id: message.id)
        if let current = message.current {
            line.progressDetail = .init(current: current, total: message.total)
            line.progress = progressBar(current: current, total: message.total)
        } else if message.id != nil, !message.status.hasPrefix("Pulling from") {
            // dockerd sends `"progressDetail":{}` with every step of a layer, and the docker CLI
            // keeps one line per layer only for messages that have it.
            line.progressDetail = .init()
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

extension RegistrySettings.Values {
    /// The registry settings of `configuration`.
    init(_ configuration: DaemonConfiguration) {
        self.init(
            mirrors: configuration.registryMirrors,
            insecureRegistries: configuration.insecureRegistries)
    }
}

/// A progress message with `progressDetail`, as dockerd streams during a pull.
struct PullProgressLine: Encodable {
    var status: String
    var id: String?
    var progressDetail: Detail?
    var progress: String?

    struct Detail: Encodable {
        var current: Int64?
        var total: Int64?
    }
}

/// One result of `GET /images/search`.
struct SearchResultLine: Encodable {
    var name: String
    var description: String
    var star_count: Int
    var is_official: Bool
    var is_automated: Bool
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
