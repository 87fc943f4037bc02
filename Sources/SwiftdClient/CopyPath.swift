import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The path rules of `docker cp`: where a copy is extracted and what its top entry is called.
enum CopyPath {
    /// The destination's state before the copy.
    struct Destination {
        var path: String
        var exists: Bool
        var isDirectory: Bool
    }

    /// A local source, with symbolic links resolved as `docker cp` resolves them.
    struct Source {
        var path: String
        var isDirectory: Bool
        /// The name the copy takes when a followed link's name differs from its target's.
        var rebaseName: String?
    }

    /// The extraction directory and the new name of the archive's top entry.
    struct Plan {
        /// The directory that the archive is extracted into.
        var directory: String
        /// The name of the archive's top entry as the source names it (`.` for a `/.` path).
        var sourceBase: String
        /// The top entry's new name, or nil to keep `sourceBase`.
        var name: String?
    }

    /// `path` with `.`, `..` and repeated slashes removed lexically, as Go's `filepath.Clean`.
    static func clean(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            if part == ".." && absolute { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// Splits `path` into its parent directory and last component, as Go's
    /// `archive.SplitPathDirEntry` does. A path ending in `/.` has `.` as its component.
    static func split(_ path: String) -> (directory: String, base: String) {
        let cleaned = clean(path)
        if path == "." || path.hasSuffix("/.") { return (cleaned, ".") }
        if cleaned == "/" { return ("/", "/") }
        return (FileSystem.parent(of: cleaned), FileSystem.basename(of: cleaned))
    }

    /// Whether the path must name a directory: it ends in `/` or `/.`.
    static func assertsDirectory(_ path: String) -> Bool {
        path.hasSuffix("/") || path.hasSuffix("/.") || path == "."
    }

    /// Decides where the archive of `sourcePath` goes, as Go's `archive.PrepareArchiveCopy`
    /// does. An existing directory takes it as it is. Otherwise it goes into the
    /// destination's parent, renamed to the destination's name.
    ///
    /// - Throws: `CopyFailure` for a directory onto a file, or a file onto a missing
    ///   directory.
    static func plan(
        sourcePath: String, sourceIsDirectory: Bool, rebaseName: String?, destination: Destination
    )
        throws -> Plan
    {
        let sourceBase = split(sourcePath).base
        let (directory, base) = split(destination.path)
        if destination.exists && destination.isDirectory {
            return Plan(directory: destination.path, sourceBase: sourceBase, name: rebaseName)
        }
        if destination.exists && sourceIsDirectory {
            throw CopyFailure("cannot copy a directory onto the file \(destination.path)")
        }
        if !destination.exists && !sourceIsDirectory && assertsDirectory(destination.path) {
            throw CopyFailure("no such directory: \(destination.path)")
        }
        return Plan(directory: directory, sourceBase: sourceBase, name: base)
    }

    /// Follows a local destination through symbolic links. A missing destination is fine when
    /// its parent is a directory.
    ///
    /// - Throws: `CopyFailure` when the parent is missing or not a directory.
    static func localDestination(_ path: String) throws -> Destination {
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFLNK {
            return Destination(
                path: path, exists: true, isDirectory: (info.st_mode & S_IFMT) == S_IFDIR)
        }
        if let resolved = realPath(path), stat(resolved, &info) == 0 {
            return Destination(
                path: resolved, exists: true, isDirectory: (info.st_mode & S_IFMT) == S_IFDIR)
        }
        let parent = split(path).directory
        guard stat(parent, &info) == 0 else {
            throw CopyFailure("\(parent): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CopyFailure("\(parent): not a directory")
        }
        return Destination(path: path, exists: false, isDirectory: false)
    }

    /// Resolves a local source: the directory part always, the last component only with
    /// `followLink` or a trailing slash.
    ///
    /// - Throws: `CopyFailure` for a missing source.
    static func localSource(_ path: String, followLink: Bool) throws -> Source {
        var absolute = path
        if !path.hasPrefix("/") {
            let directory = FileManagerPath.current()
            absolute = directory + "/" + path
        }
        let (directory, base) = split(absolute)
        var resolved: String
        var rebaseName: String?
        if followLink || (assertsDirectory(path) && base != ".") {
            guard let real = realPath(absolute) else { throw missing(path) }
            resolved = real
            if FileSystem.basename(of: real) != base { rebaseName = base }
        } else {
            guard let real = realPath(directory) else { throw missing(path) }
            resolved = real == "/" ? "/" + base : real + "/" + base
        }
        if base == "." && !resolved.hasSuffix("/.") { resolved += "/." }
        var info = stat()
        guard lstat(resolved, &info) == 0 else { throw missing(path) }
        return Source(
            path: resolved, isDirectory: (info.st_mode & S_IFMT) == S_IFDIR, rebaseName: rebaseName)
    }

    private static func missing(_ path: String) -> CopyFailure {
        CopyFailure("lstat \(path): \(String(cString: strerror(errno)))")
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// A local failure of a copy; the client prints its message alone.
struct CopyFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

/// The process's working directory.
enum FileManagerPath {
    static func current() -> String {
        guard let directory = getcwd(nil, 0) else { return "." }
        defer { free(directory) }
        return String(cString: directory)
    }
}
