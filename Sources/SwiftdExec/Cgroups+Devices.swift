import SwiftdSystem

extension Cgroups {
    /// Attaches to the container's v2 cgroup a device program that allows what `rules`
    /// (`c 1:5 rwm` and the like) allow and denies every other device open and mknod with
    /// `EPERM`. cgroup v2 has no devices files: the kernel enforces device access only through
    /// such programs. The program stays attached until the cgroup is removed.
    ///
    /// - Throws: `ExecError.invalidSpec` for a malformed rule; `SystemCallError` from loading
    ///   or attaching the program.
    func attachDeviceProgram(allowing rules: [String], id: String) throws {
        let parsed = try rules.map(DeviceRule.init(parsing:))
        try BPF.attachDeviceProgram(
            DeviceProgram.instructions(allowing: parsed), toCgroup: paths(of: id)[0])
    }
}
