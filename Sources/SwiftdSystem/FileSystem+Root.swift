#if canImport(Glibc)
    import Glibc
#endif

extension FileSystem {
    /// Resolves `path` as if `root` were `/`: component by component, `..` lexically, and every
    /// symbolic link read and followed inside `root` (an absolute target starts again at
    /// `root`), so that no link can lead outside it. Missing components are kept as they are.
    ///
    /// - Returns: the host path below `root`.
    /// - Throws: `SystemCallError` with `ELOOP` after 40 links, or from `readlink`.
    ///
    /// NOTE: the result is checked when resolved; a process that can write below `root` may
    /// swap a component for a link before the caller opens it.
    public static func resolve(_ path: String, inRoot root: String) throws -> String {
        var resolved: [Substring] = []
        var pending = path.split(separator: "/")[...]
        var links = 0
        while let component = pending.popFirst() {
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = root + "/" + (resolved + [component]).joined(separator: "/")
            var info = stat()
            guard lstat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else {
                resolved.append(component)
                continue
            }
            links += 1
            if links > 40 { throw SystemCallError(call: "resolve", subject: path, errno: ELOOP) }
            var buffer = [CChar](repeating: 0, count: 4096)
            let count = readlink(candidate, &buffer, buffer.count - 1)
            if count < 0 {
                throw SystemCallError(call: "readlink", subject: candidate, errno: Glibc.errno)
            }
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") { resolved = [] }
            pending = (target.split(separator: "/") + pending)[...]
        }
        return root + "/" + resolved.joined(separator: "/")
    }
}
