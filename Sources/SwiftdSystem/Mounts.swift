#if canImport(Glibc)
    import Glibc
#endif

/// mount(2) and umount2(2) with errors that carry the source, target, type and data.
public enum Mounts {
    /// Mounts `source` of `type` at `target` with `flags` and file-system specific `data`.
    public static func mount(
        _ source: String, at target: String, type: String, flags: UInt = 0, data: String = ""
    ) throws {
        let result = Glibc.mount(source, target, type, flags, data.isEmpty ? nil : data)
        if result != 0 {
            throw SystemCallError(
                call: "mount",
                subject: "\(type) \(source) on \(target) (data: \(data.count) bytes)",
                errno: Glibc.errno)
        }
    }

    /// Unmounts `target`; `detach` makes it lazy (MNT_DETACH). A path that is not mounted is fine.
    public static func unmount(_ target: String, detach: Bool = false) throws {
        if umount2(target, detach ? Int32(MNT_DETACH) : 0) != 0 {
            let code = Glibc.errno
            if code == EINVAL || code == ENOENT { return }
            throw SystemCallError(call: "umount2", subject: target, errno: code)
        }
    }

    /// The mount points under `prefix` (inclusive) listed in /proc/self/mountinfo, deepest first.
    public static func mountPoints(under prefix: String) -> [String] {
        guard let text = try? FileSystem.readString("/proc/self/mountinfo") else { return [] }
        var points: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let point = unescapeMountInfo(String(fields[4]))
            if point == prefix || point.hasPrefix(prefix.hasSuffix("/") ? prefix : prefix + "/") {
                points.append(point)
            }
        }
        return points.sorted { $0.count > $1.count }
    }

    /// Decodes the octal escapes (`\040` for a space) that mountinfo uses in paths.
    static func unescapeMountInfo(_ field: String) -> String {
        var bytes: [UInt8] = []
        let raw = Array(field.utf8)
        var index = 0
        while index < raw.count {
            if raw[index] == UInt8(ascii: "\\"), index + 3 < raw.count,
                let value = UInt8(String(decoding: raw[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(raw[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
