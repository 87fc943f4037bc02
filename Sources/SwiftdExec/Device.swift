#if canImport(Glibc)
    import Glibc
#endif

/// A device node made in the container (`--device`) and allowed in its devices cgroup.
public struct Device: Sendable, Equatable {
    /// The absolute path inside the container; missing parent directories are created.
    public var path: String
    /// True for a block device, false for a character device.
    public var isBlock: Bool
    public var major: UInt32
    public var minor: UInt32
    /// The permission bits of the node, copied from the host's.
    public var fileMode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// The devices cgroup access: some of `r`, `w` and `m`.
    public var permissions: String

    /// Describes the host's device at `hostPath` (symbolic links followed) for `path` in the
    /// container.
    ///
    /// - Throws: `ExecError.invalidSpec` for a path that is missing, not a device, or
    ///   permissions other than `r`, `w` and `m`.
    public init(hostPath: String, path: String, permissions: String) throws {
        guard path.hasPrefix("/"), path.split(separator: "/").last.map({ $0 != ".." && $0 != "." }) == true
        else {
            throw ExecError.invalidSpec("device path \"\(path)\" in the container must be an absolute file path")
        }
        guard !permissions.isEmpty, permissions.allSatisfy({ "rwm".contains($0) }) else {
            throw ExecError.invalidSpec("device permissions \"\(permissions)\" must be some of r, w and m")
        }
        var info = stat()
        guard stat(hostPath, &info) == 0 else {
            throw ExecError.invalidSpec(
                "error gathering device information while adding custom device \"\(hostPath)\": "
                    + String(cString: strerror(errno)))
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFCHR || type == S_IFBLK else {
            throw ExecError.invalidSpec("\"\(hostPath)\" is not a character or block device")
        }
        // The encoding of gnu_dev_major and gnu_dev_minor, which are macros in C.
        let device = UInt64(info.st_rdev)
        self.path = path
        self.isBlock = type == S_IFBLK
        self.major = UInt32(truncatingIfNeeded: ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff))
        self.minor = UInt32(truncatingIfNeeded: (device & 0xff) | ((device >> 12) & ~0xff))
        self.fileMode = UInt32(info.st_mode & 0o7777)
        self.uid = info.st_uid
        self.gid = info.st_gid
        self.permissions = permissions
    }

    /// The rule for `devices.allow`, such as `c 1:5 rwm`.
    var cgroupRule: String { "\(isBlock ? "b" : "c") \(major):\(minor) \(permissions)" }

    /// The devices every container may use, as runc's `DefaultAllowedDevices`
    /// (libcontainer/configs/device_defaults.go) allows them: mknod of any node, and null,
    /// zero, full, random, urandom, tty, console, ptmx, the pty slaves and tun.
    package static let defaultRules = [
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
        "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
    ]
}
