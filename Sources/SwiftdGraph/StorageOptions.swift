import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The storage driver options of the daemon (`--storage-opt`) or of one container
/// (`HostConfig.StorageOpt`), with dockerd's option names and messages.
public struct StorageOptions: Sendable, Equatable {
    /// The size limit of a container's writable layer in bytes, kept with a project quota; nil
    /// or 0 sets no limit.
    public var size: UInt64?

    public init(size: UInt64? = nil) {
        self.size = size
    }

    /// Parses the daemon's `KEY=VALUE` options for `driver`: `overlay2.size` for overlay2 and
    /// `size` for vfs, each a size such as `10G` that every container's writable layer gets
    /// unless the container sets its own. Keys are case-insensitive.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for an option that is not `KEY=VALUE`, an
    ///   unknown key, or an invalid size.
    public init(daemonOptions: [String], driver: StorageDriver) throws {
        for option in daemonOptions {
            let parts = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw SwiftdError(
                    .invalidArgument, "unable to parse storage-opt key/value: \(option)")
            }
            let key = parts[0].trimmingWhitespace().lowercased()
            let value = parts[1].trimmingWhitespace()
            switch (driver, key) {
            case (.overlay2, "overlay2.size"), (.vfs, "size"):
                size = try Self.parseSize(value)
            case (.overlay2, _):
                throw SwiftdError(.invalidArgument, "overlay2: unknown option \(key)")
            case (.vfs, _):
                throw SwiftdError(.invalidArgument, "unknown option \(key) for vfs")
            }
        }
    }

    /// Parses a container's `StorageOpt`, where `size` is the only key either driver takes.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for another key or an invalid size.
    public init(containerOptions: [String: String], driver: StorageDriver) throws {
        for key in containerOptions.keys.sorted() {
            guard key.lowercased() == "size" else {
                throw SwiftdError(
                    .invalidArgument,
                    driver == .overlay2 ? "Unknown option \(key)" : "Storage opt \(key) not supported")
            }
            size = try Self.parseSize(containerOptions[key] ?? "")
        }
    }

    /// Parses a size as dockerd's `RAMInBytes` does: a decimal number, then an optional k, m,
    /// g, t or p (powers of 1024), then an optional `i` and `b`, in any case.
    static func parseSize(_ text: String) throws -> UInt64 {
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        var unit = text.dropFirst(number.count).lowercased()
        if unit.hasPrefix(" ") { unit.removeFirst() }
        if unit.hasSuffix("b") { unit.removeLast() }
        if unit.count == 2 && unit.hasSuffix("i") { unit.removeLast() }
        let powers: [String: Double] = ["": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5]
        guard let value = Double(number), let power = powers[unit],
            value * pow(1024, power) < Double(UInt64.max)
        else {
            throw SwiftdError(.invalidArgument, "invalid size: '\(text)'")
        }
        return UInt64(value * pow(1024, power))
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
