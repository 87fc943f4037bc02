import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Docker's env-file format: one `KEY=VALUE` a line, with the value taken as written. A bare
/// `KEY` takes the client's value of it. Blank lines and lines starting with `#` are skipped.
enum EnvFile {
    /// Reads and parses the file at `path`.
    ///
    /// - Throws: `LocalFailure` naming the path when it cannot be opened or read, or what
    ///   `parse` throws.
    static func read(_ path: String, environment: [String: String]) throws -> [String] {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.read(path)
        } catch let error as SystemCallError {
            throw LocalFailure("\(error.call) \(path): \(Self.describe(error.errno))")
        }
        return try parse(bytes, path: path, environment: environment)
    }

    /// Parses env-file lines as the docker CLI does. Leading white space and a UTF-8 byte
    /// order mark at the start are dropped. A bare `KEY` becomes `KEY=VALUE` with the value
    /// from `environment`, or stays bare when unset, so that the daemon leaves it out.
    ///
    /// - Throws: `LocalFailure` for a line that is not UTF-8, a key containing a space or a
    ///   tab, or a line that starts with `=`.
    static func parse(_ bytes: [UInt8], path: String, environment: [String: String]) throws -> [String] {
        var data = bytes[...]
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
        var entries: [String] = []
        var lines = data.split(separator: 10, omittingEmptySubsequences: false)
        // The line break after the last line does not start another one.
        if lines.last?.isEmpty == true { lines.removeLast() }
        for (index, rawLine) in lines.enumerated() {
            var lineBytes = rawLine
            if lineBytes.last == 13 { lineBytes = lineBytes.dropLast() }
            guard let decoded = String(validating: lineBytes, as: UTF8.self) else {
                throw LocalFailure("env file \(path) contains invalid utf8 bytes at line \(index + 1)")
            }
            let line = String(decoded.drop { $0.isWhitespace })
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            if key.contains(" ") || key.contains("\t") {
                throw LocalFailure("poorly formatted environment: variable '\(key)' contains whitespaces")
            }
            if key.isEmpty {
                throw LocalFailure("poorly formatted environment: no variable name on line '\(line)'")
            }
            if parts.count == 2 {
                entries.append("\(key)=\(parts[1])")
            } else {
                entries.append(environment[key].map { "\(key)=\($0)" } ?? key)
            }
        }
        return entries
    }

    /// Describes an errno as Go does ("no such file or directory").
    private static func describe(_ errno: Int32) -> String {
        let text = String(cString: strerror(errno))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
