import Foundation
import Testing

@testable import SwiftdDaemon
@testable import SwiftdSystem

/// `-u` resolution against passwd and group files in a scratch rootfs.
@Suite("ExecUser")
struct UserLookupTests {
    /// Creates a rootfs with the given /etc/passwd and /etc/group and removes it afterwards.
    func withRoot(
        passwd: String, group: String, _ body: (String) throws -> Void
    ) throws {
        let root = NSTemporaryDirectory() + "swiftd-users-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        try passwd.write(toFile: root + "/etc/passwd", atomically: true, encoding: .utf8)
        try group.write(toFile: root + "/etc/group", atomically: true, encoding: .utf8)
        try body(root)
    }

    let passwd = """
        # a comment
        root:x:0:0:root:/root:/bin/sh
        alice:x:1000:1000:Alice:/home/alice:/bin/sh
        1234:x:2000:2000::/home/numeric:/bin/sh

        """
    let group = """
        root:x:0:root
        alice:x:1000:
        staff:x:50:bob,alice
        wheel:x:10:root,alice
        1234:x:3000:

        """

    @Test("names, numbers and groups")
    func resolution() throws {
        try withRoot(passwd: passwd, group: group) { root in
            let alice = try ExecUser("alice", rootfs: root)
            #expect(alice.uid == 1000)
            #expect(alice.gid == 1000)
            #expect(alice.additionalGroups == [1000, 50, 10])
            #expect(alice.home == "/home/alice")

            let explicit = try ExecUser("alice:staff", rootfs: root)
            #expect(explicit.gid == 50)
            #expect(explicit.additionalGroups == [50])

            let empty = try ExecUser("", rootfs: root)
            #expect(empty.uid == 0)
            #expect(empty.additionalGroups == [0, 0, 10])
            #expect(empty.home == "/root")

            // A number matches by uid, never a user named like it.
            let number = try ExecUser("1234", rootfs: root)
            #expect(number.uid == 1234)
            #expect(number.gid == 0)
            #expect(number.home == "/")
            let numericGroup = try ExecUser("alice:1234", rootfs: root)
            #expect(numericGroup.gid == 1234)
            let byUid = try ExecUser("2000", rootfs: root)
            #expect(byUid.gid == 2000)
            #expect(byUid.home == "/home/numeric")
        }
    }

    @Test("unknown names and bad ids")
    func errors() throws {
        try withRoot(passwd: passwd, group: group) { root in
            #expect(throws: SwiftdError.self) { try ExecUser("nosuch", rootfs: root) }
            do {
                _ = try ExecUser("nosuch", rootfs: root)
            } catch let error as SwiftdError {
                #expect(error.message == "unable to find user nosuch: no matching entries in passwd file")
                #expect(error.kind == .invalidArgument)
            }
            do {
                _ = try ExecUser("alice:nosuch", rootfs: root)
                Issue.record("an unknown group resolved")
            } catch let error as SwiftdError {
                #expect(error.message == "unable to find group nosuch: no matching entries in group file")
            }
            #expect(throws: SwiftdError.self) { try ExecUser("3000000000", rootfs: root) }
        }
    }

    @Test("symlinks stay inside rootfs")
    func symlinkedPasswd() throws {
        try withRoot(passwd: "", group: "") { root in
            // An absolute link and a climbing one both resolve inside the rootfs.
            try FileManager.default.removeItem(atPath: root + "/etc/passwd")
            try FileManager.default.createSymbolicLink(atPath: root + "/etc/passwd", withDestinationPath: "/../../../etc/real")
            try "eve:x:77:77::/:/bin/sh\n".write(toFile: root + "/etc/real", atomically: true, encoding: .utf8)
            #expect(try FileSystem.resolve("/etc/passwd", inRoot: root) == root + "/etc/real")
            #expect(try ExecUser("eve", rootfs: root).uid == 77)
            #expect(try FileSystem.resolve("/../../etc/../etc/group", inRoot: root) == root + "/etc/group")
        }
    }
}
