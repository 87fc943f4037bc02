import Foundation
import SwiftdAPI

extension Commands {
    /// The `create` and `run` flags of this file: `--restart`.
    static let storageFlags: [FlagParser.Flag] = [
        .init(names: ["--restart"], takesValue: true)
    ]

    /// Sets `--restart` in the create request's host config.
    ///
    /// - Throws: `UsageFailure` for a policy dockerd would reject.
    func applyStorageFlags(_ flags: FlagParser, to hostConfig: inout HostConfig) throws {
        if let restart = flags.string("--restart") {
            hostConfig.RestartPolicy = try Self.parseRestartPolicy(restart)
        }
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
