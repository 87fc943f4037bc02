import Foundation
import SwiftdAPI
import SwiftdSystem

/// A container's logging driver and its options, as `HostConfig.LogConfig` gives them.
struct LogOptions: Sendable, Equatable {
    /// The logging drivers swiftd has: `json-file`, and `none`, which keeps no log.
    static let drivers = ["json-file", "none"]
    /// Names of other drivers built into dockerd, which swiftd does not have.
    static let otherDockerDrivers: Set<String> = [
        "local", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs",
        "gcplogs", "logentries",
    ]

    /// The driver: one of `drivers`.
    var driver = "json-file"
    /// The size a file may reach before it is rotated; nil for no limit (`max-size`).
    var maxSize: Int64?
    /// How many files to keep, the current one included (`max-file`).
    var maxFile = 1
    /// Whether rotated files are gzip-compressed to `<log>.1.gz` and so on (`compress`).
    var compress = false

    /// The options json-file accepts; dockerd's list.
    static let known: Set<String> = [
        "max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag",
    ]

    init() {}

    /// Reads a container's stored `LogConfig`. A config that no longer passes the checks
    /// (from an older swiftd) gives json-file without rotation.
    init(stored config: LogConfiguration?) {
        let driver = config?.Type ?? ""
        let options = config?.Config ?? [:]
        self = (try? LogOptions(driver: driver.isEmpty ? "json-file" : driver, config: options)) ?? LogOptions()
    }

    /// Reads and checks a driver and its options as dockerd does. Any option is accepted for
    /// `none`, as in dockerd.
    ///
    /// - Throws: `.invalidArgument` for an unknown driver, a `mode` other than `blocking` and
    ///   `non-blocking`, a `max-buffer-size` without `mode=non-blocking`, or what
    ///   `init(jsonFile:)` rejects. `.unsupported` for dockerd's other drivers and for
    ///   `mode=non-blocking`.
    init(driver: String, config: [String: String]) throws {
        if driver == "none" {
            self.init()
            self.driver = driver
            return
        }
        let mode = config["mode"] ?? ""
        guard ["", "blocking", "non-blocking"].contains(mode) else {
            throw SwiftdError(.invalidArgument, "logger: logging mode not supported: \(mode)")
        }
        if config["max-buffer-size"] != nil && mode != "non-blocking" {
            throw SwiftdError(
                .invalidArgument, "logger: max-buffer-size option is only supported with 'mode=non-blocking'")
        }
        if Self.otherDockerDrivers.contains(driver) {
            throw SwiftdError(.unsupported, "logging driver \(driver) is not supported: swiftd has json-file and none")
        }
        guard driver == "json-file" else {
            throw SwiftdError(
                .invalidArgument, "logger: no log driver named '\(driver)' is registered: use json-file or none")
        }
        // TODO: mode=non-blocking needs a ring buffer that drops output when the log falls
        // behind; swiftd writes every line, so a slow disk slows the container down.
        guard mode != "non-blocking" else {
            throw SwiftdError(.unsupported, "logger: mode=non-blocking is not supported: swiftd writes logs in blocking mode")
        }
        try self.init(jsonFile: config.filter { $0.key != "mode" })
    }

    /// Reads and checks the json-file options as dockerd's json-file driver does.
    ///
    /// - Throws: `.invalidArgument` naming the option: an unknown one, a size without a number
    ///   and an optional k, m, g, t or p, a `max-file` below 1, a `max-file` above 1 without
    ///   `max-size`, and `compress=true` without rotation.
    init(jsonFile config: [String: String]) throws {
        for key in config.keys.sorted() where !Self.known.contains(key) {
            throw SwiftdError(.invalidArgument, "unknown log opt '\(key)' for json-file log driver")
        }
        if let text = config["max-size"] {
            guard let size = Self.size(text), size > 0 else {
                throw SwiftdError(
                    .invalidArgument, "invalid log opt max-size=\(text): expected a positive size such as 10m")
            }
            maxSize = size
        }
        if let text = config["max-file"] {
            guard let count = Int(text) else {
                throw SwiftdError(.invalidArgument, "invalid log opt max-file=\(text): expected a number")
            }
            guard count >= 1 else {
                throw SwiftdError(.invalidArgument, "invalid log opt max-file=\(text): max-file cannot be less than 1")
            }
            guard count == 1 || maxSize != nil else {
                throw SwiftdError(
                    .invalidArgument, "invalid log opt max-file=\(text): max-file cannot be set when max-size is not set")
            }
            maxFile = count
        }
        if let text = config["compress"] {
            // Go's strconv.ParseBool spellings, which dockerd reads the option with.
            let spellings = [
                "1": true, "t": true, "T": true, "true": true, "TRUE": true, "True": true,
                "0": false, "f": false, "F": false, "false": false, "FALSE": false, "False": false,
            ]
            guard let compress = spellings[text] else {
                throw SwiftdError(.invalidArgument, "invalid log opt compress=\(text): expected true or false")
            }
            guard !compress || (maxFile > 1 && maxSize != nil) else {
                throw SwiftdError(
                    .invalidArgument,
                    "invalid log opt compress=\(text): compress cannot be true when max-file is less than 2 or max-size is not set")
            }
            self.compress = compress
        }
        // TODO: labels, env and their -regex forms add `attrs` to each entry in dockerd, which
        // only `logs --details` shows; swiftd accepts them and writes no attrs.
    }

    /// Parses a size as dockerd's `RAMInBytes` does: a number, then an optional k, m, g, t or
    /// p (powers of 1024), then an optional `i` and `b`, in any case.
    static func size(_ text: String) -> Int64? {
        let number = text.prefix { $0.isNumber || $0 == "." }
        var unit = text.dropFirst(number.count).lowercased()
        if unit.hasPrefix(" ") { unit.removeFirst() }
        if unit.hasSuffix("b") { unit.removeLast() }
        if unit.count == 2 && unit.hasSuffix("i") { unit.removeLast() }
        let powers: [String: Double] = ["": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5]
        guard let value = Double(number), let power = powers[unit] else { return nil }
        let bytes = value * pow(1024, power)
        return bytes < Double(Int64.max) ? Int64(bytes) : nil
    }
}
