import Dispatch
import Foundation
import SwiftdAPI
import SwiftdArchive
import SwiftdSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A path's stat from the `X-Docker-Container-Path-Stat` header.
struct ContainerPathStat: Decodable {
    var name: String
    var size: Int64
    /// Go's `os.FileMode`.
    var mode: UInt32
    var mtime: String
    var linkTarget: String

    var isDirectory: Bool { mode & (1 << 31) != 0 }
    var isSymbolicLink: Bool { mode & (1 << 27) != 0 }
    /// Go's type bits other than directory: symlink, device, pipe, socket, char device,
    /// irregular.
    var isRegularFile: Bool { mode & 0x8F28_0000 == 0 }
}

extension Commands {
    /// `swiftd cp [OPTIONS] CONTAINER:SRC DEST|-` and `swiftd cp [OPTIONS] SRC|- CONTAINER:DEST`,
    /// with the semantics of `docker cp`.
    func copy(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-a", "--archive"], takesValue: false),
            .init(names: ["-L", "--follow-link"], takesValue: false),
            .init(names: ["-q", "--quiet"], takesValue: false),
        ])
        try flags.parse(arguments)
        guard flags.positional.count == 2 else {
            throw UsageFailure(message: "cp requires exactly 2 arguments: SRC and DEST")
        }
        let source = splitCopyArgument(flags.positional[0])
        let destination = splitCopyArgument(flags.positional[1])
        // A failed extraction closes its pipe; the write must fail, not kill the client.
        signal(SIGPIPE, SIG_IGN)
        switch (source.container, destination.container) {
        case (let container?, nil):
            guard !source.path.isEmpty else {
                throw UsageFailure(message: "filepath can not be empty")
            }
            return try copyFromContainer(
                container, source.path, to: destination.path, followLink: flags.bool("-L"))
        case (nil, let container?):
            guard !destination.path.isEmpty else {
                throw UsageFailure(message: "filepath can not be empty")
            }
            return try copyToContainer(
                source.path, container, destination.path, followLink: flags.bool("-L"),
                copyOwner: flags.bool("-a"))
        case (nil, nil):
            throw UsageFailure(message: "must specify at least one container source")
        case (_?, _?):
            throw UsageFailure(message: "copying between containers is not supported")
        }
    }

    /// Splits `CONTAINER:PATH`; an absolute path, or a name before the colon that starts with
    /// `.`, is a local path, as in `docker cp`.
    private func splitCopyArgument(_ argument: String) -> (container: String?, path: String) {
        if argument.hasPrefix("/") { return (nil, argument) }
        guard let colon = argument.firstIndex(of: ":") else { return (nil, argument) }
        let container = String(argument[..<colon])
        if container.hasPrefix(".") { return (nil, argument) }
        return (container, String(argument[argument.index(after: colon)...]))
    }

    /// Stats a path in a container, or returns nil when the daemon reports an error (a missing
    /// path among them).
    private func statPath(_ container: String, _ path: String) throws -> ContainerPathStat? {
        let response = try client.request("HEAD", archiveURL(container, path))
        guard response.status == 200 else { return nil }
        return try decodeStat(response.head)
    }

    private func archiveURL(_ container: String, _ path: String, query: String = "") -> String {
        "/containers/\(percentEncode(container))/archive?path=\(percentEncode(path))\(query)"
    }

    private func decodeStat(_ head: HTTPResponseHead) throws -> ContainerPathStat {
        guard let header = head.header("X-Docker-Container-Path-Stat"),
            let json = Data(base64Encoded: header)
        else {
            throw CopyFailure("unable to get resource stat from response")
        }
        return try JSONDecoder().decode(ContainerPathStat.self, from: json)
    }

    private func copyFromContainer(
        _ container: String, _ path: String, to destination: String, followLink: Bool
    )
        throws -> Int32
    {
        var sourcePath = path
        var rebaseName: String?
        if followLink, let stat = try statPath(container, path), stat.isSymbolicLink {
            rebaseName = CopyPath.split(path).base
            sourcePath = stat.linkTarget
        }

        let (connection, head, body) = try client.open("GET", archiveURL(container, sourcePath))
        defer { connection.close() }
        if head.status.code >= 400 {
            var bytes: [UInt8] = []
            while let chunk = try body.read() { bytes += chunk }
            let decoded = try? JSONDecoder().decode([String: String].self, from: Data(bytes))
            let message = decoded?["message"] ?? String(decoding: bytes, as: UTF8.self)
            throw DaemonFailure(message: message, exitStatus: 1)
        }
        if destination == "-" {
            while let chunk = try body.read() {
                try FileSystem.writeAll(1, chunk, subject: "standard output")
            }
            return 0
        }
        let stat = try decodeStat(head)
        let target = try CopyPath.localDestination(destination)
        let plan = try CopyPath.plan(
            sourcePath: sourcePath, sourceIsDirectory: stat.isDirectory, rebaseName: rebaseName,
            destination: target)
        var options = ExtractOptions(layer: false)
        // As `docker cp`: the files belong to the user running the copy.
        options.keepOwners = false
        options.noOverwriteDirNonDir = true
        options.stripsLeadingSlash = true
        if let name = plan.name { options.rename = (plan.sourceBase, name) }
        try extract(into: plan.directory, options: options) { fd in
            while let chunk = try body.read() {
                try FileSystem.writeAll(fd, chunk, subject: "extraction pipe")
            }
        }
        return 0
    }

    private func copyToContainer(
        _ source: String, _ container: String, _ destination: String, followLink: Bool,
        copyOwner: Bool
    ) throws -> Int32 {
        var target = CopyPath.Destination(path: destination, exists: false, isDirectory: false)
        var stat = try statPath(container, destination)
        if let link = stat, link.isSymbolicLink {
            target.path = link.linkTarget
            stat = try statPath(container, link.linkTarget)
        }
        if let stat {
            guard stat.isDirectory || stat.isRegularFile else {
                throw CopyFailure(
                    "destination \"\(container):\(destination)\" must be a directory or a regular file"
                )
            }
            target.exists = true
            target.isDirectory = stat.isDirectory
        }
        let query = "&noOverwriteDirNonDir=true&copyUIDGID=\(copyOwner)"
        if source == "-" {
            guard target.isDirectory else {
                throw CopyFailure("destination \"\(container):\(destination)\" must be a directory")
            }
            return try upload(archiveURL(container, target.path, query: query)) { fd in
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let count = try buffer.withUnsafeMutableBytes { raw in
                        try retryingInterrupts("read", "standard input") {
                            read(0, raw.baseAddress, raw.count)
                        }
                    }
                    if count == 0 { return }
                    try FileSystem.writeAll(fd, Array(buffer[0..<count]), subject: "upload pipe")
                }
            }
        }
        let local = try CopyPath.localSource(source, followLink: followLink)
        let plan = try CopyPath.plan(
            sourcePath: local.path, sourceIsDirectory: local.isDirectory,
            rebaseName: local.rebaseName,
            destination: target)
        let name = plan.name ?? plan.sourceBase
        return try upload(archiveURL(container, plan.directory, query: query)) { fd in
            try TarArchive.write(path: local.path, as: name, toDescriptor: fd)
        }
    }

    /// Runs `produce` on a pipe's write end in the background and extracts what it writes.
    private func extract(
        into directory: String, options: ExtractOptions, produce: (Int32) throws -> Void
    ) throws {
        let (readEnd, writeEnd) = try makePipe()
        let failure = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do {
                _ = try TarArchive.extract(descriptor: readEnd, into: directory, options: options)
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            close(readEnd)
            done.signal()
        }
        var produceError: (any Error)?
        do { try produce(writeEnd) } catch { produceError = error }
        close(writeEnd)
        done.wait()
        if let message = failure.withLock({ $0 }) { throw CopyFailure(message) }
        if let produceError { throw produceError }
    }

    /// Sends `PUT path` with a body that `produce` writes to a pipe in the background.
    private func upload(_ path: String, produce: @escaping @Sendable (Int32) throws -> Void) throws
        -> Int32
    {
        let (readEnd, writeEnd) = try makePipe()
        let failure = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do { try produce(writeEnd) } catch { failure.withLock { $0 = "\(error)" } }
            close(writeEnd)
            done.signal()
        }

        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let response: APIClient.Response
        do {
            response = try client.stream(
                "PUT", path, headers: [("Content-Type", "application/x-tar")],
                upload: {
                    let count = try buffer.withUnsafeMutableBytes { raw in
                        try retryingInterrupts("read", "upload pipe") {
                            read(readEnd, raw.baseAddress, raw.count)
                        }
                    }
                    return count == 0 ? nil : Array(buffer[0..<count])
                }, onChunk: { _ in })
        } catch {
            // Unblock a producer still writing, then report the first cause.
            close(readEnd)
            done.wait()
            throw error
        }
        close(readEnd)
        done.wait()
        if let message = failure.withLock({ $0 }) { throw CopyFailure(message) }
        if response.status >= 400 {
            throw DaemonFailure(message: response.errorMessage, exitStatus: 1)
        }
        return 0
    }

    private func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw SystemCallError(call: "pipe", subject: "copy stream", errno: errno)
        }
        return (fds[0], fds[1])
    }
}
