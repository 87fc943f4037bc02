import Foundation
import SwiftdAPI
import SwiftdSystem

extension Commands {
    /// `swiftd save [-o FILE] IMAGE...`: a `docker save` archive to FILE or standard output.
    func save(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-o", "--output"], takesValue: true)])
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else { throw UsageFailure(message: "requires at least 1 argument: IMAGE") }
        let query = flags.positional.map { "names=\(percentEncode($0))" }.joined(separator: "&")
        return try download("/images/get?\(query)", to: flags.string("-o"))
    }

    /// `swiftd export [-o FILE] CONTAINER`: the container's file system as a tar.
    func export(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-o", "--output"], takesValue: true)])
        try flags.parse(arguments)
        guard flags.positional.count == 1 else { throw UsageFailure(message: "requires exactly 1 argument: CONTAINER") }
        return try download("/containers/\(percentEncode(flags.positional[0]))/export", to: flags.string("-o"))
    }

    /// Streams a GET response body to `path`, or to standard output when it is not a terminal.
    private func download(_ path: String, to output: String?) throws -> Int32 {
        var fd: Int32 = 1
        if let output {
            fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw DaemonFailure(message: "open \(output): \(String(cString: strerror(errno)))", exitStatus: 1) }
        } else if isatty(1) == 1 {
            throw UsageFailure(message: "refusing to write an archive to a terminal: use -o FILE or redirect the output")
        }
        defer { if fd != 1 { close(fd) } }
        let response = try client.stream("GET", path) { bytes in try FileSystem.writeAll(fd, bytes) }
        if response.status >= 400 {
            if let output { try? FileSystem.remove(output) }
            throw DaemonFailure(message: response.errorMessage, exitStatus: 1)
        }
        return 0
    }

    /// `swiftd load [-i FILE]`: images from a `docker save` or OCI archive.
    func load(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-i", "--input"], takesValue: true), .init(names: ["-q", "--quiet"], takesValue: false)])
        try flags.parse(arguments)
        if !flags.positional.isEmpty { throw UsageFailure(message: "load accepts no arguments; use -i FILE") }
        var fd: Int32 = 0
        if let input = flags.string("-i") {
            if FileSystem.isDirectory(input) { throw DaemonFailure(message: "read \(input): is a directory", exitStatus: 1) }
            fd = open(input, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw DaemonFailure(message: "open \(input): \(String(cString: strerror(errno)))", exitStatus: 1) }
        } else if isatty(0) == 1 {
            throw UsageFailure(message: "requested load from stdin, but stdin is empty")
        }
        defer { if fd != 0 { close(fd) } }
        // As docker does, ask for no progress bars when they would not be drawn, but the
        // "Loaded image" lines come either way.
        let quiet = flags.bool("-q") || isatty(1) != 1
        try streamProgress(
            "/images/load" + (quiet ? "?quiet=1" : ""), headers: [("Content-Type", "application/x-tar")],
            upload: chunks(of: fd, subject: "archive"), output: 1)
        return 0
    }

    /// `swiftd diff CONTAINER`: `A`, `C` and `D` lines, as docker prints them.
    func diff(_ arguments: [String]) throws -> Int32 {
        guard arguments.count == 1 else { throw UsageFailure(message: "requires exactly 1 argument: CONTAINER") }
        let changes = try call("GET", "/containers/\(percentEncode(arguments[0]))/changes").decode([ChangeLine].self)
        for change in changes { print("\(["C", "A", "D"][min(max(change.Kind, 0), 2)]) \(change.Path)") }
        return 0
    }

    /// `swiftd commit [-m TEXT] [-a AUTHOR] [-p=false] CONTAINER [REPOSITORY[:TAG]]`.
    func commit(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-m", "--message"], takesValue: true), .init(names: ["-a", "--author"], takesValue: true),
            .init(names: ["-p", "--pause"], takesValue: false), .init(names: ["-c", "--change"], takesValue: true)])
        try flags.parse(arguments)
        guard (1...2).contains(flags.positional.count) else { throw UsageFailure(message: "requires 1 or 2 arguments: CONTAINER [REPOSITORY[:TAG]]") }
        var query = "container=\(percentEncode(flags.positional[0]))"
        // Pausing is the default; only an explicit -p=false turns it off.
        if arguments.contains(where: { $0 == "-p=false" || $0 == "--pause=false" }) { query += "&pause=0" }
        if flags.positional.count == 2 {
            let reference = flags.positional[1]
            if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
                query += "&repo=\(percentEncode(String(reference[..<colon])))&tag=\(percentEncode(String(reference[reference.index(after: colon)...])))"
            } else {
                query += "&repo=\(percentEncode(reference))"
            }
        }
        if let message = flags.string("-m") { query += "&comment=\(percentEncode(message))" }
        if let author = flags.string("-a") { query += "&author=\(percentEncode(author))" }
        for change in flags.strings("-c") { query += "&changes=\(percentEncode(change))" }
        let result = try call("POST", "/commit?\(query)").decode([String: String].self)
        print(result["Id"] ?? "")
        return 0
    }

    /// `swiftd history [--no-trunc] [-H=false] [-q] [--format TEMPLATE] IMAGE`.
    func history(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["--no-trunc"], takesValue: false), .init(names: ["-H", "--human"], takesValue: false),
            .init(names: ["-q", "--quiet"], takesValue: false), .init(names: ["--format"], takesValue: true),
        ])
        try flags.parse(arguments)
        guard flags.positional.count == 1 else { throw UsageFailure(message: "requires exactly 1 argument: IMAGE") }
        // Sizes and times are human-readable unless `-H=false` turns it off.
        let human = !arguments.contains { ["-H=false", "-H=0", "--human=false", "--human=0"].contains($0) }
        let truncate = !flags.bool("--no-trunc")
        let template = try flags.listFormat().map {
            try OutputTemplate($0, headers: [
                "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
                "Size": "SIZE", "Comment": "COMMENT",
            ])
        }
        let entries = try call("GET", "/images/\(percentEncode(flags.positional[0]))/history").decode([HistoryLine].self)
        let rows = entries.map { entry -> [String: Any] in
            var id = entry.Id
            if truncate && id.hasPrefix("sha256:") { id = String(id.dropFirst(7).prefix(12)) }
            var createdBy = entry.CreatedBy.replacingOccurrences(of: "\t", with: " ")
            if truncate && createdBy.count > 45 { createdBy = String(createdBy.prefix(44)) + "…" }
            let created = Date(timeIntervalSince1970: TimeInterval(entry.Created))
            let createdAt = rfc3339(created)
            return [
                "ID": id, "CreatedSince": human ? humanAgo(created) : createdAt, "CreatedAt": createdAt,
                "CreatedBy": createdBy, "Size": human ? humanSize(entry.Size) : String(entry.Size),
                "Comment": entry.Comment,
            ]
        }
        if flags.bool("-q") {
            for row in rows { print(row["ID"] as? String ?? "") }
            return 0
        }
        if let template {
            writeStdout(Array(try template.render(all: rows).utf8))
            return 0
        }
        var table = [["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]]
        for row in rows {
            table.append(["ID", "CreatedSince", "CreatedBy", "Size", "Comment"].map { row[$0] as? String ?? "" })
        }
        printTable(table)
        return 0
    }

    /// Formats a time as Go's `time.RFC3339` in UTC: `2024-01-02T03:04:05Z`.
    private func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

struct ChangeLine: Decodable {
    var Path: String
    var Kind: Int
}

struct HistoryLine: Decodable {
    var Id: String
    var Created: Int64
    var CreatedBy: String
    var Size: Int64
    var Comment: String
}
