import Foundation
import SwiftdAPI

extension Commands {
    static let loggingFlags: [FlagParser.Flag] = [
        .init(names: ["--env-file"], takesValue: true),
        .init(names: ["--log-driver"], takesValue: true),
        .init(names: ["--log-opt"], takesValue: true),
    ]

    /// Returns the environment of `--env-file` files, in the order given, followed by the `-e`
    /// entries, so that `-e` overrides a file as in the docker CLI.
    ///
    /// - Throws: `LocalFailure` for a file that cannot be read or is not in the env-file format.
    func environment(_ flags: FlagParser) throws -> [String] {
        let client = ProcessInfo.processInfo.environment
        var entries: [String] = []
        for path in flags.strings("--env-file") {
            entries += try EnvFile.read(path, environment: client)
        }
        return entries + flags.strings("-e").map { entry in
            // `-e NAME` without a value passes the client's own value, as docker does.
            if entry.contains("=") { return entry }
            return client[entry].map { "\(entry)=\($0)" } ?? entry
        }
    }

    /// Sets `HostConfig.LogConfig` from `--log-driver` and `--log-opt`. Without either it stays
    /// unset, so the daemon's default driver and options apply.
    ///
    /// - Throws: `UsageFailure` for an option that is not `KEY=VALUE`, or any option with the
    ///   `none` driver, which the docker CLI rejects too.
    func applyLoggingFlags(_ flags: FlagParser, to hostConfig: inout HostConfig) throws {
        let driver = flags.string("--log-driver")
        var options: [String: String] = [:]
        for option in flags.strings("--log-opt") {
            let parts = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw UsageFailure(
                    message: "invalid argument \"\(option)\" for \"--log-opt\" flag: expected KEY=VALUE")
            }
            options[String(parts[0])] = String(parts[1])
        }
        guard driver != nil || !options.isEmpty else { return }
        if driver == "none" && !options.isEmpty {
            throw UsageFailure(message: "invalid logging opts for driver none")
        }
        hostConfig.LogConfig = LogConfiguration(Type: driver ?? "", Config: options)
    }

    static let storageOptionFlags: [FlagParser.Flag] = [
        .init(names: ["--storage-opt"], takesValue: true)
    ]

    /// Returns the `--storage-opt KEY=VALUE` options as `HostConfig.StorageOpt` takes them.
    ///
    /// - Throws: `UsageFailure` for an option that is not `KEY=VALUE`, as the docker CLI does.
    func storageOptions(_ flags: FlagParser) throws -> [String: String] {
        var options: [String: String] = [:]
        for option in flags.strings("--storage-opt") {
            let parts = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw UsageFailure(message: "invalid storage option \"\(option)\": expected KEY=VALUE")
            }
            options[String(parts[0])] = String(parts[1])
        }
        return options
    }
}
