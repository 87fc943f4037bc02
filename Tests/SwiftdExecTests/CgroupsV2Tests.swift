import Foundation
import SwiftdSystem
import Testing

@testable import SwiftdExec

/// Tests of the cgroup v2 paths of `Cgroups`, on a directory tree laid out as the unified
/// hierarchy. These hosts mount the v1 controllers, so plain files stand in for the kernel's v2
/// files, and the tests check what swiftd writes to them and reads from them.
@Suite("cgroups v2 files")
struct CgroupsV2Tests {
    /// A fake unified hierarchy whose root is this process's v2 cgroup (`0::/` here).
    struct Tree {
        let root: String
        let base: String

        init() throws {
            root = "/tmp/swd-cgroup2-\(UInt32.random(in: 0...UInt32.max))"
            let own = try Self.ownV2Path()
            try FileManager.default.createDirectory(atPath: root + own, withIntermediateDirectories: true)
            try FileSystem.write(root + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n")
            if own != "/" {
                try FileSystem.write(root + own + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n")
            }
            base = root + (own == "/" ? "" : own) + "/swiftd-test"
        }

        /// Reads the path of this process's v2 cgroup (the `0::PATH` line of /proc/self/cgroup).
        static func ownV2Path() throws -> String {
            let lines = try FileSystem.readString("/proc/self/cgroup").split(separator: "\n")
            let entry = lines.first { $0.hasPrefix("0::") }
            return entry.map { String($0.dropFirst(3)) } ?? "/"
        }

        /// Makes the container's directory with the files the kernel would create in it.
        func makeContainer(_ id: String, files: [String: String]) throws {
            let path = "\(base)/\(id)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            for (name, text) in files { try FileSystem.write("\(path)/\(name)", text) }
        }

        func read(_ id: String, _ file: String) -> String? {
            try? FileSystem.readString("\(base)/\(id)/\(file)")
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    static let emptyFiles = [
        "memory.max", "memory.swap.max", "memory.low", "cpu.weight", "cpu.max", "pids.max",
        "cgroup.freeze", "cgroup.procs",
    ].reduce(into: [String: String]()) { $0[$1] = "" }

    @Test("v2 detected, controllers enabled")
    func detectsUnified() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let cgroups = try Cgroups(root: tree.root, parent: "swiftd-test")
        #expect(cgroups.version == 2)
        #expect(cgroups.bases == [tree.base])
        let enabled = try FileSystem.readString("\(tree.base)/cgroup.subtree_control")
        #expect(enabled == "+memory +pids +cpu +cpuset +io")
    }

    @Test("limits written to v2 files")
    func limitsWritten() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let cgroups = try Cgroups(root: tree.root, parent: "swiftd-test")
        try tree.makeContainer("c1", files: Self.emptyFiles)
        let mebibyte: Int64 = 1024 * 1024
        try cgroups.create(id: "c1", memoryLimit: 64 * mebibyte)
        #expect(tree.read("c1", "memory.max") == "\(64 * mebibyte)")

        var resources = ContainerResources()
        resources.cpuShares = 512
        resources.cpus = 1.5
        resources.pidsLimit = 100
        resources.memoryReservation = 32 * mebibyte
        resources.memorySwap = 128 * mebibyte
        try cgroups.apply(resources, memoryLimit: 64 * mebibyte, id: "c1")
        // runc's conversion: 1 + (512 - 2) * 9999 / 262142.
        #expect(tree.read("c1", "cpu.weight") == "20")
        #expect(tree.read("c1", "cpu.max") == "150000 100000")
        #expect(tree.read("c1", "pids.max") == "100")
        #expect(tree.read("c1", "memory.low") == "\(32 * mebibyte)")
        // v2 counts swap apart from memory: --memory-swap is their sum.
        #expect(tree.read("c1", "memory.swap.max") == "\(64 * mebibyte)")
    }

    @Test("oom-kill-disable rejected on v2")
    func oomKillDisableRejected() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let cgroups = try Cgroups(root: tree.root, parent: "swiftd-test")
        try tree.makeContainer("c2", files: Self.emptyFiles)
        var resources = ContainerResources()
        resources.oomKillDisable = true
        #expect(throws: ExecError.self) {
            try cgroups.apply(resources, memoryLimit: nil, id: "c2")
        }
    }

    @Test("freeze and stats read v2 files")
    func freezeAndStats() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let cgroups = try Cgroups(root: tree.root, parent: "swiftd-test")
        var files = Self.emptyFiles
        files["cgroup.events"] = "populated 1\nfrozen 1\n"
        files["memory.current"] = "1234\n"
        files["memory.max"] = "max\n"
        files["cpu.stat"] = "usage_usec 5\nuser_usec 3\nsystem_usec 2\n"
        files["pids.current"] = "3\n"
        try tree.makeContainer("c3", files: files)

        try cgroups.setFrozen(true, id: "c3")
        #expect(tree.read("c3", "cgroup.freeze") == "1")
        let stats = try cgroups.stats(id: "c3")
        #expect(stats.memoryUsage == 1234)
        #expect(stats.memoryLimit == UInt64.max)
        #expect(stats.cpuUsageNanoseconds == 5000)
        #expect(stats.pids == 3)
    }

    @Test("OOM kill read from memory.events")
    func oomKillCounted() throws {
        let tree = try Tree()
        defer { tree.remove() }
        let cgroups = try Cgroups(root: tree.root, parent: "swiftd-test")
        try tree.makeContainer("c4", files: ["memory.events": "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n"])
        try tree.makeContainer("c5", files: ["memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"])
        #expect(cgroups.oomKilled(id: "c4", killedBySigkill: true))
        #expect(!cgroups.oomKilled(id: "c5", killedBySigkill: true))
    }
}
