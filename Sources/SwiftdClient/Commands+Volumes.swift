import Foundation
import SwiftdAPI

extension Commands {
    /// The `create` and `run` flags of this file: `--restart`, `-v` and `--mount`.
    static let storageFlags: [FlagParser.Flag] = [
        .init(names: ["--restart"], takesValue: true),
        .init(names: ["-v", "--volume"], takesValue: true),
        .init(names: ["--mount"], takesValue: true),
    ]

    /// Sets `--restart`, `-v` and `--mount` in the create request's host config.
    ///
    /// - Throws: `UsageFailure` for a policy or mount that dockerd would reject.
    func applyStorageFlags(_ flags: FlagParser, to hostConfig: inout HostConfig) throws {
        if let restart = flags.string("--restart") {
            hostConfig.RestartPolicy = try Self.parseRestartPolicy(restart)
        }
        let binds = flags.strings("-v")
        if !binds.isEmpty { hostConfig.Binds = binds }
        let mounts = try flags.strings("--mount").map(Self.parseMount)
        if !mounts.isEmpty { hostConfig.Mounts = mounts }
    }

    /// Parses a `--mount` value: comma-separated `type=`, `source=`/`src=`,
    /// `target=`/`destination=`/`dst=`, `readonly`/`ro`, `tmpfs-size=`, `tmpfs-mode=`.
    static func parseMount(_ text: String) throws -> MountRequest {
        var request = MountRequest()
        for field in text.split(separator: ",") {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0].lowercased()
            let value = parts.count > 1 ? parts[1] : nil
            switch key {
            case "type": request.Type = value
            case "source", "src": request.Source = value
            case "target", "destination", "dst": request.Target = value
            case "readonly", "ro":
                request.ReadOnly = value.map { ["1", "true"].contains($0.lowercased()) } ?? true
            case "tmpfs-size":
                guard let value, let size = parseMemorySize(value) else {
                    throw UsageFailure(message: "invalid value for tmpfs-size in --mount \(text)")
                }
                request.TmpfsOptions = request.TmpfsOptions ?? .init()
                request.TmpfsOptions?.SizeBytes = size
            case "tmpfs-mode":
                guard let value, let mode = UInt32(value, radix: 8) else {
                    throw UsageFailure(message: "invalid value for tmpfs-mode in --mount \(text)")
                }
                request.TmpfsOptions = request.TmpfsOptions ?? .init()
                request.TmpfsOptions?.Mode = mode
            case "bind-propagation", "volume-nocopy", "consistency":
                continue
            default:
                throw UsageFailure(message: "unexpected key '\(key)' in '\(text)'")
            }
        }
        guard request.Target != nil else {
            throw UsageFailure(message: "target is required in --mount \(text)")
        }
        return request
    }

    /// `swiftd volume create|ls|inspect|rm|prune`.
    func volume(_ arguments: [String]) throws -> Int32 {
        guard let command = arguments.first else {
            throw UsageFailure(message: "volume needs a command: create, ls, inspect, rm, prune")
        }
        let rest = Array(arguments.dropFirst())
        switch command {
        case "create":
            var flags = FlagParser([
                .init(names: ["--name"], takesValue: true),
                .init(names: ["-d", "--driver"], takesValue: true),
                .init(names: ["-l", "--label"], takesValue: true),
            ])
            try flags.parse(rest)
            var body: [String: JSONValue] = [:]
            if let name = flags.string("--name") ?? flags.positional.first { body["Name"] = .string(name) }
            if let driver = flags.string("-d") { body["Driver"] = .string(driver) }
            var labels: [String: String] = [:]
            for label in flags.strings("-l") {
                let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
                labels[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            var json = Array(try JSONEncoder().encode(body))
            if !labels.isEmpty {
                // `Labels` is an object, which JSONValue does not spell: splice it in.
                let encoded = String(decoding: try JSONEncoder().encode(labels), as: UTF8.self)
                let prefix = body.isEmpty ? "{" : String(decoding: json.dropLast(), as: UTF8.self) + ","
                json = Array((prefix + "\"Labels\":" + encoded + "}").utf8)
            }
            let created = try call("POST", "/volumes/create", json: json)
            print(try volumeName(created.body))
            return 0
        case "ls", "list":
            var flags = FlagParser([.init(names: ["-q", "--quiet"], takesValue: false)])
            try flags.parse(rest)
            let response = try call("GET", "/volumes")
            let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            let list = object?["Volumes"] as? [[String: Any]] ?? []
            let names = list.compactMap { $0["Name"] as? String }
            if flags.bool("-q") {
                for name in names { print(name) }
                return 0
            }
            printTable([["DRIVER", "VOLUME NAME"]] + names.map { ["local", $0] })
            return 0
        case "inspect":
            guard !rest.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: VOLUME") }
            var documents: [String] = []
            var status: Int32 = 0
            for name in rest {
                let response = try client.request("GET", "/volumes/\(percentEncode(name))")
                if response.status >= 400 {
                    writeStderr("Error: No such volume: \(name)\n")
                    status = 1
                    continue
                }
                documents.append(prettyJSON(response.body))
            }
            print(documents.isEmpty ? "[]" : "[\n" + documents.joined(separator: ",\n") + "\n]")
            return status
        case "rm", "remove":
            var flags = FlagParser([.init(names: ["-f", "--force"], takesValue: false)])
            try flags.parse(rest)
            guard !flags.positional.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: VOLUME") }
            return try forEach(flags.positional) { name in
                try call("DELETE", "/volumes/\(percentEncode(name))")
            }
        case "prune":
            var flags = FlagParser([
                .init(names: ["-f", "--force"], takesValue: false),
                .init(names: ["-a", "--all"], takesValue: false),
            ])
            try flags.parse(rest)
            var path = "/volumes/prune"
            if flags.bool("-a") { path += "?filters=" + percentEncode(#"{"all":["true"]}"#) }
            let response = try call("POST", path)
            let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            let deleted = object?["VolumesDeleted"] as? [String] ?? []
            if !deleted.isEmpty { print("Deleted Volumes:\n" + deleted.joined(separator: "\n") + "\n") }
            print("Total reclaimed space: 0B")
            return 0
        default:
            throw UsageFailure(message: "unknown volume command: \(command)")
        }
    }

    private func volumeName(_ body: [UInt8]) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        return object?["Name"] as? String ?? ""
    }

    /// Parses `no`, `always`, `unless-stopped` or `on-failure[:N]`.
    static func parseRestartPolicy(_ text: String) throws -> RestartPolicy {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        guard ["no", "always", "on-failure", "unless-stopped"].contains(name) else {
            throw UsageFailure(message: "invalid restart policy '\(text)'")
        }
        guard parts.count == 2 else { return RestartPolicy(Name: name) }
        guard name == "on-failure" else {
            throw UsageFailure(
                message: "invalid restart policy format: maximum retry count can only be "
                    + "used with 'on-failure'")
        }
        guard let count = Int(parts[1]), count >= 0 else {
            throw UsageFailure(message: "invalid restart policy format: \(text)")
        }
        return RestartPolicy(Name: name, MaximumRetryCount: count)
    }
}
