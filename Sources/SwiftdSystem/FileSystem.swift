import CSwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// File operations with errors that name the call and the path.
public enum FileSystem {
    /// Reports whether `path` exists, without following a final symbolic link.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Reports whether `path` is a directory, following symbolic links.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and any missing parents with `mode`; an existing directory is fine.
    public static func createDirectory(_ path: String, mode: mode_t = 0o700) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, mode) != 0 && Glibc.errno != EEXIST {
                throw SystemCallError(call: "mkdir", subject: prefix, errno: Glibc.errno)
            }
        }
    }

    /// Reads the whole file at `path`.
    public static func read(_ path: String) throws -> [UInt8] {
        let fd = try retryingInterrupts("open", path) { swd_open(path, O_RDONLY | O_CLOEXEC, 0) }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", path) { Glibc.read(fd, raw.baseAddress, raw.count) }
            }
            if count == 0 { return result }
            result.append(contentsOf: buffer[0..<count])
        }
    }

    /// Reads the file at `path` as UTF-8 text.
    public static func readString(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// Writes `bytes` to `path` so that readers see either the old file or the whole new one.
    ///
    /// The data goes to a temporary file in the same directory, is flushed with `fsync`, and
    /// replaces `path` with `rename`. A new file's directory is then flushed too, so that the
    /// file survives a power loss. A file that replaced another does not need that: after a
    /// power loss the directory contains the old file or the new one, each whole, as dockerd's
    /// atomic writes leave it. That saves a second flush on every state change.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600)
        throws
    {
        let directory = parent(of: path)
        let temporary = "\(directory)/.tmp-\(basename(of: path))-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = try retryingInterrupts("open", temporary) {
            swd_open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, UInt32(mode))
        }
        do {
            try writeAll(fd, bytes, subject: temporary)
            try retryingInterrupts("fsync", temporary) { fsync(fd) }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        let replacing = access(path, F_OK) == 0
        if rename(temporary, path) != 0 {
            let code = Glibc.errno
            unlink(temporary)
            throw SystemCallError(call: "rename", subject: "\(temporary) to \(path)", errno: code)
        }
        if !replacing { syncDirectory(directory) }
    }

    /// Writes `text` to `path` in place (for files under /proc and /sys, which cannot be renamed).
    public static func write(_ path: String, _ text: String) throws {
        let fd = try retryingInterrupts("open", path) {
            swd_open(path, O_WRONLY | O_CLOEXEC | O_TRUNC | O_CREAT, 0o644)
        }
        defer { close(fd) }
        try writeAll(fd, Array(text.utf8), subject: path)
    }

    /// Writes every byte of `bytes` to `fd`, retrying short writes and `EINTR`.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], subject: String = "") throws {
        var offset = 0
        while offset < bytes.count {
            let written = try bytes.withUnsafeBytes { raw in
                try retryingInterrupts("write", subject) {
                    Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
            }
            offset += written
        }
    }

    /// Flushes a directory's entries to disk; failures are ignored because the rename is done.
    public static func syncDirectory(_ path: String) {
        let fd = swd_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// Lists the names in a directory, without `.` and `..`.
    public static func list(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else {
            throw SystemCallError(call: "opendir", subject: path, errno: Glibc.errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes `path` and everything under it; a missing path is fine.
    ///
    /// Does not cross into other file systems: a mount point below `path` makes this throw
    /// `EBUSY` rather than delete what is mounted there.
    public static func removeTree(_ path: String) throws {
        var info = stat()
        if lstat(path, &info) != 0 {
            if Glibc.errno == ENOENT { return }
            throw SystemCallError(call: "lstat", subject: path, errno: Glibc.errno)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeTree("\(path)/\(name)") }
            if rmdir(path) != 0 && Glibc.errno != ENOENT {
                throw SystemCallError(call: "rmdir", subject: path, errno: Glibc.errno)
            }
        } else if unlink(path) != 0 && Glibc.errno != ENOENT {
            throw SystemCallError(call: "unlink", subject: path, errno: Glibc.errno)
        }
    }

    /// Removes a file; a missing file is fine.
    public static func remove(_ path: String) throws {
        if unlink(path) != 0 && Glibc.errno != ENOENT {
            throw SystemCallError(call: "unlink", subject: path, errno: Glibc.errno)
        }
    }

    /// The directory part of `path` (`.` for a bare name).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The target of the symbolic link at `path` (`readlink(2)`).
    ///
    /// - Throws: `SystemCallError` from `readlink`, such as `EINVAL` for a path that is not a
    ///   symbolic link.
    public static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        if count < 0 {
            throw SystemCallError(call: "readlink", subject: path, errno: Glibc.errno)
        }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The last component of `path`.
    public static func basename(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
