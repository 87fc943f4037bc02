import SwiftdSystem

/// The uid, gid and supplementary groups of a `-u user[:group]` value, looked up in the
/// container's `/etc/passwd` and `/etc/group` with the rules of Docker's `GetExecUser`.
struct ExecUser: Equatable {
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    /// The primary gid first, then the groups that list the user as a member, as
    /// dockerd 25 and later set them.
    var additionalGroups: [UInt32] = []
    /// The home directory from the passwd entry, for `HOME`; "/" without one.
    var home = "/"

    /// Resolves `spec` (`name|uid[:group|gid]`, empty for root) against the files below
    /// `rootfs`.
    ///
    /// A name must have an entry; a number without one is used as it is (with gid 0 when no
    /// group is given). Without an explicit group the gid is the passwd entry's, and the
    /// supplementary groups are the groups that list the user's name as a member.
    ///
    /// - Throws: `.invalidArgument` for an unknown name or an id out of Docker's range
    ///   0-2147483647.
    init(_ spec: String, rootfs: String) throws {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let userArgument = parts[0].isEmpty ? "0" : String(parts[0])
        let groupArgument = parts.count > 1 ? String(parts[1]) : ""
        let passwd = Self.entries(try? FileSystem.read(FileSystem.resolve("/etc/passwd", inRoot: rootfs)))
        let group = Self.entries(try? FileSystem.read(FileSystem.resolve("/etc/group", inRoot: rootfs)))

        var userName = ""
        let numericUser = try Self.id(userArgument)
        let match = passwd.first { fields in
            guard fields.count >= 4 else { return false }
            if let numericUser { return UInt32(fields[2]) == numericUser }
            return fields[0] == userArgument
        }
        if let match {
            userName = match[0]
            uid = UInt32(match[2]) ?? 0
            gid = UInt32(match[3]) ?? 0
            if match.count > 5, !match[5].isEmpty { home = match[5] }
        } else if let numericUser {
            uid = numericUser
        } else {
            throw SwiftdError(
                .invalidArgument,
                "unable to find user \(userArgument): no matching entries in passwd file")
        }

        let numericGroup = groupArgument.isEmpty ? nil : try Self.id(groupArgument)
        let groups = group.filter { fields in
            guard fields.count >= 3 else { return false }
            if groupArgument.isEmpty {
                let members = fields.count > 3 ? fields[3].split(separator: ",") : []
                return !userName.isEmpty && members.contains { $0 == userName }
            }
            if let numericGroup { return UInt32(fields[2]) == numericGroup }
            return fields[0] == groupArgument
        }
        if !groupArgument.isEmpty {
            if let first = groups.first {
                gid = UInt32(first[2]) ?? 0
            } else if let numericGroup {
                gid = numericGroup
            } else {
                throw SwiftdError(
                    .invalidArgument,
                    "unable to find group \(groupArgument): no matching entries in group file")
            }
        } else {
            additionalGroups = groups.compactMap { UInt32($0[2]) }
        }
        additionalGroups.insert(gid, at: 0)
    }

    /// The value as an id if it is all digits; nil for a name.
    private static func id(_ text: String) throws -> UInt32? {
        guard !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) else {
            return nil
        }
        guard let value = UInt32(text), value <= 2_147_483_647 else {
            throw SwiftdError(.invalidArgument, "uids and gids must be in range 0-2147483647: \(text)")
        }
        return value
    }

    /// The colon-separated fields of each line, skipping blank lines and `#` comments.
    private static func entries(_ bytes: [UInt8]?) -> [[String]] {
        guard let bytes else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingPrefix(while: \.isWhitespace)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
            return trimmed.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        }
    }
}
