import SwiftdSystem

extension Graph {
    /// Returns the first project ID after those in use under `overlay`: the directory's own
    /// (which an administrator may have set, as dockerd's documentation suggests for xfs) and
    /// those of the container layers' upper or vfs rootfs directories.
    ///
    /// - Throws: `SystemCallError` when a project ID cannot be read.
    static func nextProjectID(_ overlay: String, _ state: GraphState) throws -> UInt32 {
        var highest = try ProjectQuota.projectID(of: overlay)
        for record in state.containers.values {
            let directory = overlay + "/" + record.id + (record.isVFS ? "/rootfs" : "/diff")
            guard FileSystem.exists(directory) else { continue }
            highest = max(highest, try ProjectQuota.projectID(of: directory))
        }
        return highest + 1
    }

    /// Returns the size limit in bytes that a new container layer gets with `options`, or 0
    /// for none: the container's own size, else the daemon's.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` with dockerd's message when a size is set
    ///   but the file system has no project quotas.
    func sizeLimit(_ options: StorageOptions?) throws -> UInt64 {
        let size = options?.size ?? self.options.size ?? 0
        if size > 0 && projectQuota == nil {
            throw SwiftdError(
                .invalidArgument,
                driver == .overlay2
                    ? "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"
                    : "Filesystem does not support, or has not enabled quotas")
        }
        return size
    }

    /// Limits what is written below `directories` to `size` bytes in all, with a new project
    /// ID that they and everything created below them get. Call with the state locked.
    ///
    /// - Throws: `SystemCallError` from the `quotactl` call or the project ID ioctls.
    func limit(_ directories: [String], to size: UInt64, _ state: inout GraphState) throws {
        guard let projectQuota else { return }
        let project = state.nextProjectID
        state.nextProjectID += 1
        try projectQuota.setLimit(size, project: project)
        for directory in directories {
            try ProjectQuota.assign(project: project, to: directory)
        }
    }
}
