import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Entry names and their safe placement inside an extraction root.
enum EntryPath {
    /// The components of an archive entry name, without `.` and empty parts.
    ///
    /// - Throws: `ArchiveError` naming the entry for an absolute name or a `..` component.
    static func components(of name: String, entry: String) throws -> [String] {
        if name.hasPrefix("/") {
            throw ArchiveError.hostile(entry, "absolute path")
        }
        var parts: [String] = []
        for part in name.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                throw ArchiveError.hostile(entry, "path contains a \"..\" component")
            }
            parts.append(String(part))
        }
        return parts
    }

    /// Resolves `components` below `root` as the kernel would walk them, following symbolic
    /// links that already exist there, and returns the resolved components (none of them a
    /// symbolic link).
    ///
    /// `root` must have no symbolic links in it (pass it through `realpath`). A link with an
    /// absolute target, or one whose `..` climbs above `root`, leads outside and is rejected.
    /// With `confined`, `root` acts as a chroot, as `openat2` with `RESOLVE_IN_ROOT` does: an
    /// absolute target starts again from `root`, and `..` stops there.
    ///
    /// - Throws: `ArchiveError` naming `entry`; `SystemCallError` if `lstat` or `readlink`
    ///   fails for another reason than a missing path.
    static func resolve(
        _ components: [String], in root: String, entry: String, confined: Bool = false
    ) throws -> [String] {
        var resolved: [String] = []
        var pending = Array(components.reversed())
        var exists = true
        var links = 0
        while let part = pending.popLast() {
            if part.isEmpty || part == "." { continue }
            if part == ".." {
                if resolved.isEmpty {
                    if confined { continue }
                    throw ArchiveError.hostile(entry, "symbolic link in its path leads outside")
                }
                resolved.removeLast()
                exists = true
                continue
            }
            let candidate = resolved + [part]
            // Once a component is missing, nothing below it exists to be a link.
            guard exists else {
                resolved = candidate
                continue
            }
            let path = root + "/" + candidate.joined(separator: "/")
            var info = stat()
            if lstat(path, &info) != 0 {
                let code = Glibc.errno
                guard code == ENOENT else {
                    throw SystemCallError(call: "lstat", subject: path, errno: code)
                }
                exists = false
                resolved = candidate
                continue
            }
            guard (info.st_mode & S_IFMT) == S_IFLNK else {
                resolved = candidate
                continue
            }
            links += 1
            if links > 40 {
                throw ArchiveError.hostile(entry, "too many levels of symbolic links")
            }
            let target = try readLink(path)
            if target.hasPrefix("/") {
                guard confined else {
                    throw ArchiveError.hostile(entry, "symbolic link in its path leads outside")
                }
                resolved = []
                exists = true
            }
            for piece in target.split(separator: "/").reversed() {
                pending.append(String(piece))
            }
        }
        return resolved
    }

    /// The target of the symbolic link at `path`.
    static func readLink(_ path: String) throws -> String {
        try FileSystem.readLink(path)
    }

    /// `path` with every symbolic link resolved, as `realpath(3)` returns it.
    static func canonical(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw SystemCallError(call: "realpath", subject: path, errno: Glibc.errno)
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
