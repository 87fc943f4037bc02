import Foundation
import SwiftdAPI

extension Commands {
    /// `swiftd rmi IMAGE...`: prints what was untagged and deleted, as docker does.
    func rmi(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-f", "--force"], takesValue: false), .init(names: ["--no-prune"], takesValue: false),
        ])
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: IMAGE") }
        var query: [String] = []
        if flags.bool("-f") { query.append("force=1") }
        if flags.bool("--no-prune") { query.append("noprune=1") }
        let suffix = query.isEmpty ? "" : "?" + query.joined(separator: "&")
        var status: Int32 = 0
        for name in flags.positional {
            do {
                let items = try call("DELETE", "/images/\(name)\(suffix)").decode([[String: String]].self)
                for item in items {
                    for (key, value) in item { print("\(key): \(value)") }
                }
            } catch let error as DaemonFailure {
                writeStderr("Error response from daemon: \(error.message)\n")
                status = 1
            }
        }
        return status
    }

    /// `swiftd tag SOURCE TARGET`.
    func tag(_ arguments: [String]) throws -> Int32 {
        guard arguments.count == 2 else { throw UsageFailure(message: "requires exactly 2 arguments: SOURCE_IMAGE TARGET_IMAGE[:TAG]") }
        let target = arguments[1]
        var query = "repo=\(percentEncode(target))"
        // A digest's colon is not a tag's: the daemon rejects `NAME@DIGEST` as a whole.
        if let colon = target.lastIndex(of: ":"), !target[colon...].contains("/"), !target.contains("@") {
            query = "repo=\(percentEncode(String(target[..<colon])))&tag=\(percentEncode(String(target[target.index(after: colon)...])))"
        }
        try call("POST", "/images/\(arguments[0])/tag?\(query)")
        return 0
    }

    /// `swiftd restart [-t SECS] CONTAINER...`.
    func restart(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-t", "--time", "--timeout"], takesValue: true)])
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: CONTAINER") }
        var suffix = ""
        if let time = flags.string("-t") {
            guard Int(time) != nil else { throw UsageFailure(message: "invalid argument \"\(time)\" for \"-t, --time\"") }
            suffix = "?t=\(time)"
        }
        return try forEach(flags.positional) { name in
            try call("POST", "/containers/\(percentEncode(name))/restart\(suffix)")
        }
    }

    /// `swiftd rename CONTAINER NEW_NAME`.
    func rename(_ arguments: [String]) throws -> Int32 {
        guard arguments.count == 2 else { throw UsageFailure(message: "requires exactly 2 arguments: CONTAINER NEW_NAME") }
        try call("POST", "/containers/\(percentEncode(arguments[0]))/rename?name=\(percentEncode(arguments[1]))")
        return 0
    }

    /// `swiftd pause CONTAINER...` and `swiftd unpause CONTAINER...`.
    func pause(_ arguments: [String], action: String) throws -> Int32 {
        guard !arguments.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: CONTAINER") }
        return try forEach(arguments) { name in
            try call("POST", "/containers/\(percentEncode(name))/\(action)")
        }
    }
}
