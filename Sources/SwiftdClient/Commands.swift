import Foundation
import Synchronization
import SwiftdAPI
import SwiftdSystem

/// The client commands, each a function of its arguments returning the exit status.
struct Commands {
    let client: APIClient

    /// Sends a request and throws `DaemonFailure` for an error status.
    @discardableResult
    func call(_ method: String, _ path: String, json: [UInt8]? = nil) throws -> APIClient.Response {
        let response = try client.request(method, path, json: json)
        if response.status >= 400 { throw DaemonFailure(message: response.errorMessage, exitStatus: 1) }
        return response
    }

    // MARK: run, create, start

    static let createFlags: [FlagParser.Flag] = [
        .init(names: ["--name"], takesValue: true), .init(names: ["-e", "--env"], takesValue: true),
        .init(names: ["-m", "--memory"], takesValue: true), .init(names: ["--network", "--net"], takesValue: true),
        .init(names: ["-h", "--hostname"], takesValue: true), .init(names: ["-w", "--workdir"], takesValue: true),
        .init(names: ["-u", "--user"], takesValue: true), .init(names: ["--entrypoint"], takesValue: true),
        .init(names: ["-l", "--label"], takesValue: true), .init(names: ["--stop-signal"], takesValue: true),
        .init(names: ["--stop-timeout"], takesValue: true),
        .init(names: ["--privileged"], takesValue: false), .init(names: ["--read-only"], takesValue: false),
        .init(names: ["--cpus"], takesValue: true), .init(names: ["-c", "--cpu-shares"], takesValue: true),
        .init(names: ["--pids-limit"], takesValue: true), .init(names: ["--tmpfs"], takesValue: true),
        .init(names: ["--security-opt"], takesValue: true), .init(names: ["--shm-size"], takesValue: true),
        .init(names: ["--cap-add"], takesValue: true), .init(names: ["--cap-drop"], takesValue: true),
        .init(names: ["--rm"], takesValue: false), .init(names: ["-d", "--detach"], takesValue: false),
        .init(names: ["-i", "--interactive"], takesValue: false),
        .init(names: ["-t", "--tty"], takesValue: false),
        .init(names: ["--detach-keys"], takesValue: true),
    ] + networkFlags + storageFlags + resourceFlags + loggingFlags + storageOptionFlags

    /// Builds the create request from `create`/`run` flags; returns it with the container name.
    func createRequest(_ arguments: [String]) throws -> (ContainerCreateRequest, String?, FlagParser) {
        var flags = FlagParser(Self.createFlags)
        try flags.parse(arguments, stopAtPositional: true)
        guard let image = flags.positional.first else {
            throw UsageFailure(message: "requires at least 1 argument: IMAGE [COMMAND] [ARG...]")
        }
        var request = ContainerCreateRequest()
        request.Image = image
        let command = Array(flags.positional.dropFirst())
        if !command.isEmpty { request.Cmd = command }
        if let entrypoint = flags.string("--entrypoint") { request.Entrypoint = entrypoint.isEmpty ? [] : [entrypoint] }
        request.Env = try environment(flags)
        request.Hostname = flags.string("-h")
        request.WorkingDir = flags.string("-w")
        request.User = flags.string("-u")
        request.StopSignal = flags.string("--stop-signal")
        if let timeout = flags.string("--stop-timeout") {
            guard let seconds = Int(timeout) else { throw UsageFailure(message: "invalid --stop-timeout \(timeout)") }
            request.StopTimeout = seconds
        }
        var labels: [String: String] = [:]
        for label in flags.strings("-l") {
            let parts = label.split(separator: "=", maxSplits: 1)
            labels[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        if !labels.isEmpty { request.Labels = labels }
        var hostConfig = HostConfig()
        if let memory = flags.string("-m") {
            guard let bytes = parseMemorySize(memory) else {
                throw UsageFailure(message: "invalid argument \"\(memory)\" for \"-m, --memory\" flag: invalid size")
            }
            hostConfig.Memory = bytes
        }
        // With several --network flags, the first one is the network mode, as in the docker CLI.
        hostConfig.NetworkMode = flags.strings("--network").first ?? "default"
        hostConfig.Privileged = flags.bool("--privileged")
        hostConfig.ReadonlyRootfs = flags.bool("--read-only")
        if let cpus = flags.string("--cpus") {
            guard let value = Double(cpus), value >= 0, value < 1e9 else {
                throw UsageFailure(message: "invalid argument \"\(cpus)\" for \"--cpus\" flag: expected a number of CPUs")
            }
            hostConfig.NanoCpus = Int64(value * 1_000_000_000)
        }
        if let shares = flags.string("-c") {
            guard let value = Int64(shares) else { throw UsageFailure(message: "invalid argument \"\(shares)\" for \"-c, --cpu-shares\" flag") }
            hostConfig.CpuShares = value
        }
        if let pids = flags.string("--pids-limit") {
            guard let value = Int64(pids) else { throw UsageFailure(message: "invalid argument \"\(pids)\" for \"--pids-limit\" flag") }
            hostConfig.PidsLimit = value
        }
        if let shm = flags.string("--shm-size") {
            guard let bytes = parseMemorySize(shm) else { throw UsageFailure(message: "invalid argument \"\(shm)\" for \"--shm-size\" flag: invalid size") }
            hostConfig.ShmSize = bytes
        }
        var tmpfs: [String: String] = [:]
        for mount in flags.strings("--tmpfs") {
            let parts = mount.split(separator: ":", maxSplits: 1).map(String.init)
            tmpfs[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        if !tmpfs.isEmpty { hostConfig.Tmpfs = tmpfs }
        var security: [String] = []
        for option in flags.strings("--security-opt") {
            // The daemon takes a seccomp profile's contents, as the docker CLI sends them.
            if option.hasPrefix("seccomp="), option != "seccomp=unconfined" {
                let path = String(option.dropFirst("seccomp=".count))
                guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw UsageFailure(message: "opening seccomp profile (\(path)) failed")
                }
                security.append("seccomp=\(contents)")
            } else {
                security.append(option)
            }
        }
        if !security.isEmpty { hostConfig.SecurityOpt = security }
        if !flags.strings("--cap-add").isEmpty { hostConfig.CapAdd = flags.strings("--cap-add") }
        if !flags.strings("--cap-drop").isEmpty { hostConfig.CapDrop = flags.strings("--cap-drop") }
        hostConfig.AutoRemove = flags.bool("--rm")
        try applyNetworkFlags(flags, request: &request, hostConfig: &hostConfig)
        try applyStorageFlags(flags, to: &hostConfig)
        try applyResourceFlags(flags, to: &hostConfig)
        try applyLoggingFlags(flags, to: &hostConfig)
        let storageOptions = try storageOptions(flags)
        if !storageOptions.isEmpty { hostConfig.StorageOpt = storageOptions }
        request.HostConfig = hostConfig
        request.AttachStdout = !flags.bool("-d")
        request.AttachStderr = !flags.bool("-d")
        applyStdioFlags(flags, to: &request)
        return (request, flags.string("--name"), flags)
    }

    /// Creates the container and returns its ID.
    func createContainer(_ request: ContainerCreateRequest, name: String?) throws -> String {
        var path = "/containers/create"
        if let name { path += "?name=\(percentEncode(name))" }
        let body = Array(try JSONEncoder().encode(request))
        var response = try client.request("POST", path, json: body)
        // A 404 for a network or a linked container is not about the image.
        if response.status == 404, let image = request.Image,
            response.errorMessage.hasPrefix("No such image")
        {
            writeStderr("Unable to find image '\(image)' locally\n")
            // As docker does: pull the missing image, then create again.
            do {
                try pullImage(image, output: 2)
            } catch let failure as DaemonFailure {
                let message = "\(response.errorMessage), and pulling it failed: \(failure.message)"
                throw DaemonFailure(message: message, exitStatus: 125)
            }
            response = try client.request("POST", path, json: body)
        }
        if response.status >= 400 { throw DaemonFailure(message: response.errorMessage) }
        return try response.decode(ContainerCreateResponse.self).Id
    }

    func create(_ arguments: [String]) throws -> Int32 {
        let (request, name, _) = try createRequest(arguments)
        print(try createContainer(request, name: name))
        return 0
    }

    func run(_ arguments: [String]) throws -> Int32 {
        let (request, name, flags) = try createRequest(arguments)
        let id = try createContainer(request, name: name)
        if flags.bool("-d") {
            try startContainer(id, autoRemove: flags.bool("--rm"))
            print(id)
            return 0
        }

        return try startAttached(
            id, tty: request.Tty == true, stdin: request.OpenStdin == true,
            detachKeys: flags.string("--detach-keys"), autoRemove: flags.bool("--rm"))
    }

    /// Attaches to a created container's output (and its input with `stdin`), starts it,
    /// copies the streams until it ends and returns its exit code, as `run` and `start -a` do.
    /// With `autoRemove`, the wait lasts until the daemon has removed the container.
    ///
    /// - Throws: `DaemonFailure` when the attach or the start fails.
    func startAttached(
        _ id: String, tty: Bool, stdin: Bool, detachKeys: String?, autoRemove: Bool
    ) throws -> Int32 {
        // Wait in the background from before the start, so a short-lived container's exit is
        // seen: the daemon sends the wait's response head once the waiter is registered. The
        // wait and the attach are set up at the same time, each on its own connection.
        let exitCode = Mutex<Int32?>(nil)
        let registered = DispatchSemaphore(value: 0)
        let waited = DispatchSemaphore(value: 0)
        let condition = autoRemove ? "removed" : "next-exit"
        let waiter = Thread { [client] in
            defer { waited.signal() }
            guard let (connection, head, body) = try? client.open("POST", "/containers/\(id)/wait?condition=\(condition)") else {
                registered.signal()
                return
            }
            defer { connection.close() }
            registered.signal()
            guard head.status.code < 400, let bytes = try? body.readAll(limit: 1 << 20),
                let result = try? JSONDecoder().decode(ContainerWaitResponse.self, from: Data(bytes))
            else { return }
            exitCode.withLock { $0 = Int32(truncatingIfNeeded: result.StatusCode) }
        }
        waiter.start()
        let (connection, attachResponse) = try client.hijack(
            "POST", attachPath(id, stdin: stdin, detachKeys: detachKeys))
        guard let connection else { throw DaemonFailure(message: attachResponse.errorMessage) }
        defer { connection.close() }
        registered.wait()

        try startContainer(id, autoRemove: autoRemove)
        // Signals to the client go to the container, as docker's --sig-proxy does by default.
        let proxies = tty ? [] : proxySignals(to: id)
        defer { for proxy in proxies { proxy.cancel() } }
        let session = AttachSession(
            client: client, connection: connection, tty: tty, stdin: stdin,
            resizePath: "/containers/\(id)/resize")
        try session.begin()
        session.sendSize()
        session.copyOutput()
        session.end()
        if stdin, waited.wait(timeout: .now() + 1) == .timedOut {
            // Detached with the detach keys: the container runs on.
            if isRunning(id) { return 0 }
            waited.wait()
        } else if !stdin {
            waited.wait()
        }
        if let code = exitCode.withLock({ $0 }) { return code }
        // The wait failed (for example the daemon stopped); report the recorded exit code.
        if let inspect = try? call("GET", "/containers/\(id)/json").decode(ContainerInspect.self) {
            return inspect.State.ExitCode
        }
        return 125
    }

    /// Forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the container while the
    /// client waits for it; returns the signal sources, to be cancelled afterwards.
    func proxySignals(to id: String) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [client] in
                _ = try? client.request("POST", "/containers/\(id)/kill?signal=\(number)")
            }
            source.resume()
            return source
        }
    }

    /// Starts a container; a failed start maps to exit 127 or 126 as the docker CLI does.
    func startContainer(_ id: String, autoRemove: Bool) throws {
        let response = try client.request("POST", "/containers/\(id)/start")
        guard response.status >= 400 else { return }
        let message = response.errorMessage
        if autoRemove { _ = try? client.request("DELETE", "/containers/\(id)?force=1") }
        var status: Int32 = 125
        if message.contains("executable file not found") || message.contains("no such file or directory") {
            status = 127
        } else if message.contains("permission denied") {
            status = 126
        }
        throw DaemonFailure(message: message, exitStatus: status)
    }

    func start(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-a", "--attach"], takesValue: false),
            .init(names: ["-i", "--interactive"], takesValue: false),
            .init(names: ["--detach-keys"], takesValue: true),
        ])
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: CONTAINER") }
        if flags.bool("-a") {
            guard flags.positional.count == 1 else {
                throw UsageFailure(message: "you cannot start and attach multiple containers at once")
            }
            let id = flags.positional[0]
            let inspect = try call("GET", "/containers/\(percentEncode(id))/json")
                .decode(ContainerInspect.self)
            // As the docker CLI: the container's input only with -i, and only if it keeps one.
            return try startAttached(
                inspect.Id, tty: inspect.Config.Tty,
                stdin: flags.bool("-i") && inspect.Config.OpenStdin,
                detachKeys: flags.string("--detach-keys"), autoRemove: false)
        }
        return try forEach(flags.positional) { id in
            try startContainer(id, autoRemove: false)
        }
    }

    /// Sends one request per name, all at once as the docker CLI does, and prints each name on
    /// success or the daemon's error otherwise, in the order of `names`.
    func forEachConcurrently(_ names: [String], _ request: @escaping @Sendable (String) throws -> Void) -> Int32 {
        let outcomes = Mutex<[Int: String]>([:])
        let group = DispatchGroup()
        // At most 16 requests in flight, so that a long list does not open hundreds of sockets.
        let slots = DispatchSemaphore(value: 16)
        for (index, name) in names.enumerated() {
            slots.wait()
            group.enter()
            // A thread per request: Dispatch's global queue runs about one blocking work item per
            // core on Linux, which would send two or three requests at a time on a small machine.
            let thread = Thread {
                defer {
                    slots.signal()
                    group.leave()
                }
                do {
                    try request(name)
                } catch let error as DaemonFailure {
                    outcomes.withLock { $0[index] = error.message }
                } catch {
                    outcomes.withLock { $0[index] = "\(error)" }
                }
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
        group.wait()
        var status: Int32 = 0
        let failures = outcomes.withLock { $0 }
        for (index, name) in names.enumerated() {
            if let message = failures[index] {
                writeStderr("Error response from daemon: \(message)\n")
                status = 1
            } else {
                print(name)
            }
        }
        return status
    }

    /// Runs `body` for each name, printing the name on success and the error otherwise, as
    /// docker's multi-container commands do.
    func forEach(_ names: [String], _ body: (String) throws -> Void) throws -> Int32 {
        var status: Int32 = 0
        for name in names {
            do {
                try body(name)
                print(name)
            } catch let error as DaemonFailure {
                writeStderr("Error response from daemon: \(error.message)\n")
                status = 1
            }
        }
        return status
    }

    // MARK: stop, kill, wait, rm

    func stop(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-t", "--time", "--timeout"], takesValue: true),
            .init(names: ["-s", "--signal"], takesValue: true)])
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: CONTAINER") }
        var query: [String] = []
        if let time = flags.string("-t") {
            guard Int(time) != nil else { throw UsageFailure(message: "invalid argument \"\(time)\" for \"-t, --time\"") }
            query.append("t=\(time)")
        }
        if let signal = flags.string("-s") { query.append("signal=\(percentEncode(signal))") }
        let suffix = query.isEmpty ? "" : "?" + query.joined(separator: "&")
        return forEachConcurrently(flags.positional) { [self] name in
            try call("POST", "/containers/\(percentEncode(name))/stop\(suffix)")
        }
    }

    func kill(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-s", "--signal"], takesValue: true)])
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: CONTAINER") }
        let signal = flags.string("-s").map { "?signal=\(percentEncode($0))" } ?? ""
        return forEachConcurrently(flags.positional) { [self] name in
            try call("POST", "/containers/\(percentEncode(name))/kill\(signal)")
        }
    }

    func wait(_ arguments: [String]) throws -> Int32 {
        guard !arguments.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: CONTAINER") }
        var status: Int32 = 0
        for name in arguments {
            do {
                let result = try call("POST", "/containers/\(percentEncode(name))/wait").decode(ContainerWaitResponse.self)
                print(result.StatusCode)
            } catch let error as DaemonFailure {
                writeStderr("Error response from daemon: \(error.message)\n")
                status = 1
            }
        }
        return status
    }

    func rm(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-f", "--force"], takesValue: false), .init(names: ["-v", "--volumes"], takesValue: false)])
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: CONTAINER") }
        let query = "?force=\(flags.bool("-f") ? 1 : 0)&v=\(flags.bool("-v") ? 1 : 0)"
        return forEachConcurrently(flags.positional) { [self] name in
            try call("DELETE", "/containers/\(percentEncode(name))\(query)")
        }
    }

    // MARK: ps, logs, inspect

    func ps(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-a", "--all"], takesValue: false), .init(names: ["-q", "--quiet"], takesValue: false),
            .init(names: ["--no-trunc"], takesValue: false), .init(names: ["-f", "--filter"], takesValue: true),
            .init(names: ["-n", "--last"], takesValue: true), .init(names: ["-l", "--latest"], takesValue: false),
            .init(names: ["--format"], takesValue: true)])
        try flags.parse(arguments)
        if !flags.positional.isEmpty { throw UsageFailure(message: "ps accepts no arguments") }
        let template = try flags.listFormat().map { try OutputTemplate($0, headers: FormatRows.psHeaders) }
        let containers = try call("GET", "/containers/json?" + (try psQuery(flags))).decode([ContainerSummary].self)
        let truncate = !flags.bool("--no-trunc")
        if let template, !flags.bool("-q") {
            writeStdout(Array(try template.render(all: containers.map { FormatRows.container($0, truncate: truncate) }).utf8))
            return 0
        }
        if flags.bool("-q") {
            for container in containers { print(truncate ? String(container.Id.prefix(12)) : container.Id) }
            return 0
        }
        var rows = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]]
        for container in containers {
            var command = container.Command
            if truncate && command.count > 20 { command = String(command.prefix(19)) + "…" }
            let created = humanAgo(Date(timeIntervalSince1970: TimeInterval(container.Created)))
            rows.append([
                truncate ? String(container.Id.prefix(12)) : container.Id, displayedImage(container, truncate: truncate),
                "\"\(command)\"",
                created, container.Status, formatPorts(container.Ports), container.Names.map { String($0.dropFirst()) }.joined(separator: ","),
            ])
        }
        printTable(rows)
        return 0
    }

    func inspect(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-f", "--format"], takesValue: true), .init(names: ["--type"], takesValue: true)])
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: NAME") }
        let template = try flags.string("-f").map { try OutputTemplate($0) }
        let type = flags.string("--type")
        if let type, !["container", "image"].contains(type) {
            throw UsageFailure(message: "\"\(type)\" is not a valid value for --type: use container or image")
        }
        var documents: [String] = []
        var status: Int32 = 0
        for name in flags.positional {
            var response = type == "image"
                ? try client.request("GET", "/images/\(name)/json")
                : try client.request("GET", "/containers/\(percentEncode(name))/json")
            if response.status == 404 && type == nil { response = try client.request("GET", "/images/\(name)/json") }
            if response.status >= 400 {
                writeStderr("Error: No such \(type ?? "object"): \(name)\n")
                status = 1
                continue
            }
            if let template {
                writeStdout(Array(try template.render(all: [try jsonTree(response.body)]).utf8))
            } else {
                documents.append(prettyJSON(response.body))
            }
        }
        if template == nil { print(documents.isEmpty ? "[]" : "[\n" + documents.joined(separator: ",\n") + "\n]") }
        return status
    }

    // MARK: images, import

    func images(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-q", "--quiet"], takesValue: false), .init(names: ["--no-trunc"], takesValue: false),
            .init(names: ["-a", "--all"], takesValue: false), .init(names: ["--digests"], takesValue: false),
            .init(names: ["-f", "--filter"], takesValue: true), .init(names: ["--format"], takesValue: true)])
        try flags.parse(arguments)
        guard flags.positional.count <= 1 else { throw UsageFailure(message: "images accepts at most 1 argument: [REPOSITORY[:TAG]]") }
        let template = try flags.listFormat().map { try OutputTemplate($0, headers: FormatRows.imageHeaders) }
        var filters = try filterQuery(flags.strings("-f"))
        if let reference = flags.positional.first { filters["reference", default: []].append(reference) }
        var path = "/images/json"
        if !filters.isEmpty {
            path += "?filters=" + percentEncode(String(decoding: try JSONEncoder().encode(filters), as: UTF8.self))
        }
        let images = try call("GET", path).decode([ImageSummary].self)
        if let template, !flags.bool("-q") {
            let rows = images.flatMap { FormatRows.images($0, truncate: !flags.bool("--no-trunc")) }
            writeStdout(Array(try template.render(all: rows).utf8))
            return 0
        }
        let truncate = !flags.bool("--no-trunc")
        func shortID(_ id: String) -> String {
            truncate ? String(id.dropFirst("sha256:".count).prefix(12)) : id
        }
        if flags.bool("-q") {
            for image in images { print(shortID(image.Id)) }
            return 0
        }
        let digests = flags.bool("--digests")
        var rows = [["REPOSITORY", "TAG"] + (digests ? ["DIGEST"] : []) + ["IMAGE ID", "CREATED", "SIZE"]]
        for image in images {
            let created = humanAgo(Date(timeIntervalSince1970: TimeInterval(image.Created)))
            let tags = image.RepoTags.isEmpty ? ["<none>:<none>"] : image.RepoTags
            for tag in tags {
                let colon = tag.lastIndex(of: ":").flatMap { tag[$0...].contains("/") ? nil : $0 } ?? tag.endIndex
                let repository = String(tag[..<colon])
                let name = colon < tag.endIndex ? String(tag[tag.index(after: colon)...]) : "<none>"
                // A digest reference belongs to the row of its repository.
                let digest = image.RepoDigests.first { $0.hasPrefix(repository + "@") }
                    .map { String($0.drop { $0 != "@" }.dropFirst()) } ?? "<none>"
                rows.append([repository, name] + (digests ? [digest] : []) + [shortID(image.Id), created, humanSize(image.Size)])
            }
        }
        printTable(rows)
        return 0
    }

    func importImage(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-m", "--message"], takesValue: true), .init(names: ["-c", "--change"], takesValue: true)])
        try flags.parse(arguments)
        guard (1...2).contains(flags.positional.count) else {
            throw UsageFailure(message: "requires 1 or 2 arguments: file|- [REPOSITORY[:TAG]]")
        }
        let source = flags.positional[0]
        let fd: Int32
        if source == "-" {
            fd = 0
        } else {
            fd = open(source, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw DaemonFailure(message: "open \(source): \(String(cString: strerror(errno)))", exitStatus: 1)
            }
        }
        defer { if fd != 0 { close(fd) } }
        if FileSystem.isDirectory(source) {
            throw DaemonFailure(message: "read \(source): is a directory", exitStatus: 1)
        }
        var query = "fromSrc=-"
        if flags.positional.count == 2 {
            let reference = flags.positional[1]
            // Split `repo:tag` at a colon after the last slash (a registry port is not a tag).
            if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
                guard colon != reference.startIndex, reference.index(after: colon) != reference.endIndex else {
                    throw UsageFailure(message: "invalid reference format: \(reference)")
                }
                query += "&repo=\(percentEncode(String(reference[..<colon])))&tag=\(percentEncode(String(reference[reference.index(after: colon)...])))"
            } else {
                query += "&repo=\(percentEncode(reference))"
            }
        }
        if let message = flags.string("-m") { query += "&message=\(percentEncode(message))" }
        for change in flags.strings("-c") { query += "&changes=\(percentEncode(change))" }
        try streamProgress(
            "/images/create?\(query)", headers: [("Content-Type", "application/x-tar")],
            upload: chunks(of: fd, subject: source), drawsUpload: true,
            uploadSize: remainingSize(of: fd), output: 1)
        return 0
    }

    // MARK: version, info

    func version(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-f", "--format"], takesValue: true)])
        try flags.parse(arguments)
        if let format = flags.string("-f") {
            // Go templates see docker's field names: APIVersion rather than the JSON ApiVersion.
            var server = try jsonTree(try call("GET", "/version").body) as? [String: Any] ?? [:]
            server["APIVersion"] = server["ApiVersion"]
            server["MinAPIVersion"] = server["MinAPIVersion"]
            let clientFields: [String: Any] = [
                "Version": ClientMain.clientVersion, "APIVersion": APIVersion.current, "Os": "linux",
                "Arch": server["Arch"] ?? "",
            ]
            writeStdout(Array(try OutputTemplate(format).render(all: [["Client": clientFields, "Server": server]]).utf8))
            return 0
        }
        print("Client:\n Version:           \(ClientMain.clientVersion)\n API version:       \(APIVersion.current)\n")
        let version = try call("GET", "/version").decode(VersionResponse.self)
        print("""
            Server: swiftd
             Engine:
              Version:          \(version.Version)
              API version:      \(version.ApiVersion) (minimum version \(version.MinAPIVersion))
              Swift version:    \(version.GoVersion)
              Git commit:       \(version.GitCommit)
              Built:            \(version.BuildTime)
              OS/Arch:          \(version.Os)/\(version.Arch)
              Kernel:           \(version.KernelVersion)
            """)
        return 0
    }

    func info(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-f", "--format"], takesValue: true)])
        try flags.parse(arguments)
        if let format = flags.string("-f") {
            writeStdout(Array(try OutputTemplate(format).render(all: [try jsonTree(try call("GET", "/info").body)]).utf8))
            return 0
        }
        let info = try call("GET", "/info").decode(InfoResponse.self)
        print("""
            Server:
             Containers: \(info.Containers)
              Running: \(info.ContainersRunning)
              Paused: \(info.ContainersPaused)
              Stopped: \(info.ContainersStopped)
             Images: \(info.Images)
             Server Version: \(info.ServerVersion)
             Storage Driver: \(info.Driver)
             Logging Driver: \(info.LoggingDriver)
             Cgroup Driver: \(info.CgroupDriver)
             Cgroup Version: \(info.CgroupVersion)
             Default Runtime: \(info.DefaultRuntime)
             Kernel Version: \(info.KernelVersion)
             Operating System: \(info.OperatingSystem)
             CPUs: \(info.NCPU)
             Total Memory: \(humanSize(info.MemTotal))
             Name: \(info.Name)
             Docker Root Dir: \(info.DockerRootDir)
             Debug Mode: \(info.Debug)
            """)
        for warning in info.Warnings { writeStderr("WARNING: \(warning)\n") }
        return 0
    }
}

/// Returns an upload source that reads `fd` in 1 MiB chunks until end of file.
func chunks(of fd: Int32, subject: String) -> () throws -> [UInt8]? {
    {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let count = try buffer.withUnsafeMutableBytes { raw in
            try retryingInterrupts("read", subject) { read(fd, raw.baseAddress, raw.count) }
        }
        return count == 0 ? nil : Array(buffer[0..<count])
    }
}

/// Splits a JSON progress stream into messages, across chunk boundaries.
struct ProgressLines {
    private var pending: [UInt8] = []

    mutating func feed(_ bytes: [UInt8], deliver: (ProgressMessage) -> Void) {
        pending += bytes
        while let newline = pending.firstIndex(of: 10) {
            let line = Array(pending[..<newline])
            pending.removeFirst(newline + 1)
            if let message = try? JSONDecoder().decode(ProgressMessage.self, from: Data(line)) { deliver(message) }
        }
    }
}

/// Writes bytes to standard error.
func writeStderrBytes(_ bytes: some Collection<UInt8>) {
    try? FileSystem.writeAll(2, Array(bytes))
}

/// Prints rows as docker does: columns left-aligned, three spaces apart.
func printTable(_ rows: [[String]]) {
    guard let columns = rows.first?.count else { return }
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    for row in rows {
        var line = ""
        for (index, cell) in row.enumerated() {
            line += index == columns - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
        }
        while line.hasSuffix(" ") { line.removeLast() }
        print(line)
    }
}

/// "5 seconds ago", as docker's CREATED column.
func humanAgo(_ date: Date) -> String {
    humanDuration(Date().timeIntervalSince(date)) + " ago"
}

/// Sizes in decimal units, as docker prints them ("2.1MB").
func humanSize(_ bytes: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000 && unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    let rounded = value < 10 ? (value * 100).rounded() / 100 : (value < 100 ? (value * 10).rounded() / 10 : value.rounded())
    var text = String(rounded)
    if text.hasSuffix(".0") { text.removeLast(2) }
    return text + units[unit]
}

/// Indents a JSON document for `inspect`, four spaces a level and `"key": value` as docker does.
func prettyJSON(_ bytes: [UInt8]) -> String {
    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
        return String(decoding: bytes, as: UTF8.self)
    }
    var output = "    "
    writeJSON(object, indent: 1, into: &output)
    return output
}

private func writeJSON(_ value: Any, indent: Int, into output: inout String) {
    let pad = String(repeating: "    ", count: indent + 1)
    let closingPad = String(repeating: "    ", count: indent)
    switch value {
    case let dictionary as [String: Any]:
        if dictionary.isEmpty {
            output += "{}"
            return
        }
        output += "{\n"
        for (index, key) in dictionary.keys.sorted().enumerated() {
            output += pad + jsonString(key) + ": "
            writeJSON(dictionary[key] as Any, indent: indent + 1, into: &output)
            output += index == dictionary.count - 1 ? "\n" : ",\n"
        }
        output += closingPad + "}"
    case let array as [Any]:
        if array.isEmpty {
            output += "[]"
            return
        }
        output += "[\n"
        for (index, element) in array.enumerated() {
            output += pad
            writeJSON(element, indent: indent + 1, into: &output)
            output += index == array.count - 1 ? "\n" : ",\n"
        }
        output += closingPad + "]"
    case let string as String:
        output += jsonString(string)
    case let number as NSNumber:
        // JSONSerialization gives booleans as NSNumbers of type "c".
        if number.objCType.pointee == CChar(UInt8(ascii: "c")) {
            output += number.boolValue ? "true" : "false"
        } else {
            output += number.stringValue
        }
    default:
        output += "null"
    }
}
