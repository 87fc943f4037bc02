import CSwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Project quotas on the file system of one directory: a project ID per directory tree and a
/// block limit per project, as xfs (mounted with `pquota`) and ext4 (with the `project` and
/// `quota` features, mounted with `prjquota`) keep them.
///
/// `quotactl` names the file system by a block device, so the quota keeps a block device node
/// for the directory's file system in that directory, as dockerd's `backingFsBlockDev` is.
public struct ProjectQuota: Sendable {
    /// The name of the block device node in the directory.
    public static let deviceName = "backingFsBlockDev"

    /// The path of the block device node that `quotactl` calls name.
    public let device: String

    /// Makes the block device node of `directory`'s file system in `directory` and checks that
    /// the file system accounts and enforces project quotas.
    ///
    /// - Throws: `SwiftdError(.unsupported)` naming what is missing when the file system
    ///   does not enforce project quotas, or when device nodes cannot be made (`EPERM`);
    ///   `SystemCallError` for another failure of `stat`, `mknod` or `quotactl`.
    public init(directory: String) throws {
        var info = stat()
        if stat(directory, &info) != 0 {
            throw SystemCallError(call: "stat", subject: directory, errno: errno)
        }
        device = directory + "/" + Self.deviceName
        // Made again each time: the directory may have been copied from another file system.
        unlink(device)
        if mknod(device, S_IFBLK | 0o600, info.st_dev) != 0 {
            let code = errno
            if code == EPERM {
                throw SwiftdError(
                    .unsupported, "cannot make a block device node in \(directory): \(String(cString: strerror(code)))")
            }
            throw SystemCallError(call: "mknod", subject: device, errno: code)
        }
        var accounting: Int32 = 0
        var enforcing: Int32 = 0
        if swd_project_quota_state(device, &accounting, &enforcing) != 0 {
            let code = errno
            unlink(device)
            // Whatever the errno, the file system offers no project quotas to use.
            throw SwiftdError(
                .unsupported,
                "reading the project quota state of \(directory) failed: \(String(cString: strerror(code)))")
        }
        guard accounting != 0 && enforcing != 0 else {
            unlink(device)
            throw SwiftdError(
                .unsupported, "the file system of \(directory) does not enforce project quotas")
        }
    }

    /// Returns the project ID of the file or directory at `path`.
    ///
    /// - Throws: `SystemCallError` from `open` or the `FS_IOC_FSGETXATTR` ioctl.
    public static func projectID(of path: String) throws -> UInt32 {
        let descriptor = try retryingInterrupts("open", path) {
            swd_open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0)
        }
        defer { close(descriptor) }
        var project: UInt32 = 0
        if swd_get_project_id(descriptor, &project) != 0 {
            throw SystemCallError(call: "ioctl FS_IOC_FSGETXATTR", subject: path, errno: errno)
        }
        return project
    }

    /// Gives the directory at `path` the project ID `project` and the inherit flag, so that
    /// what is created below it from now on counts against that project.
    ///
    /// - Throws: `SystemCallError` from `open` or the `FS_IOC_FSSETXATTR` ioctl.
    public static func assign(project: UInt32, to path: String) throws {
        let descriptor = try retryingInterrupts("open", path) {
            swd_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW, 0)
        }
        defer { close(descriptor) }
        if swd_set_project_id(descriptor, project) != 0 {
            throw SystemCallError(call: "ioctl FS_IOC_FSSETXATTR", subject: path, errno: errno)
        }
    }

    /// Limits the blocks of `project` to `bytes`, rounded down to 512-byte blocks. A limit of 0
    /// removes the limit.
    ///
    /// - Throws: `SystemCallError` from `quotactl` (`Q_XSETQLIM`).
    public func setLimit(_ bytes: UInt64, project: UInt32) throws {
        if swd_set_project_quota(device, project, bytes) != 0 {
            throw SystemCallError(
                call: "quotactl Q_XSETQLIM", subject: "project \(project) on \(device)", errno: errno)
        }
    }
}
