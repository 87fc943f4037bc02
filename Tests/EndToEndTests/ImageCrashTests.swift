import Foundation
import Testing

/// A daemon killed with SIGKILL in the middle of `load` leaves a store that the next daemon
/// opens consistent: the image is either whole or absent, and no temporary file remains.
@Suite("image store after a crash", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ImageCrashTests {
    static let blobBytes = 96 << 20

    /// Where the kill lands: while the body is spooled to `<root>/tmp`, while the archive is
    /// unpacked into `overlay2/tmp-load-*`, or at a fixed time after the load began.
    enum Moment: String, CaseIterable, Sendable {
        case spooling, unpacking, late
    }

    @Test("SIGKILL during load", arguments: Moment.allCases)
    func killDuringLoad(moment: Moment) throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start()
        try daemon.importBusybox()

        // busybox and a random blob in one layer, big enough that loading it takes a while.
        let content = "\(daemon.work)/content"
        try FileManager.default.createDirectory(atPath: content, withIntermediateDirectories: true)
        let made = try DaemonHarness.capture("/bin/sh", [
            "-c",
            "tar -C \(content) -xf \(daemon.work)/busybox.tar && head -c \(Self.blobBytes) /dev/urandom > \(content)/blob"
                + " && tar -C \(content) -cf \(daemon.work)/big.tar .",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(try daemon.client(["import", "\(daemon.work)/big.tar", "127.0.0.1:5000/crash/big"]).status == 0)
        let id = try daemon.client(["images", "-q", "--no-trunc", "127.0.0.1:5000/crash/big"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("sha256:"))
        #expect(try daemon.client(["save", "-o", "\(daemon.work)/saved.tar", "127.0.0.1:5000/crash/big"]).status == 0)
        #expect(try daemon.client(["rmi", "127.0.0.1:5000/crash/big"]).status == 0)

        let loader = Process()
        loader.executableURL = URL(fileURLWithPath: DaemonHarness.binary)
        loader.arguments = ["-H", "unix://\(daemon.socket)", "load", "-q", "-i", "\(daemon.work)/saved.tar"]
        loader.standardOutput = FileHandle.nullDevice
        loader.standardError = FileHandle.nullDevice
        try loader.run()
        switch moment {
        case .spooling: try waitForEntry(in: "\(daemon.root)/tmp", prefix: "load-")
        case .unpacking: try waitForEntry(in: "\(daemon.root)/overlay2", prefix: "tmp-load-")
        case .late: Thread.sleep(forTimeInterval: 2)
        }
        let pid = try #require(daemon.process?.processIdentifier)
        kill(pid, SIGKILL)
        daemon.process?.waitUntilExit()
        loader.waitUntilExit()

        try daemon.start()
        let spool = (try? FileManager.default.contentsOfDirectory(atPath: "\(daemon.root)/tmp")) ?? []
        #expect(spool.isEmpty, "spooled uploads left: \(spool)")
        let overlay = try FileManager.default.contentsOfDirectory(atPath: "\(daemon.root)/overlay2")
        #expect(overlay.filter { $0.hasPrefix("tmp-") || $0.hasPrefix(".tmp-") }.isEmpty, "\(overlay)")

        // Whatever the kill interrupted, the image is whole or absent.
        let listed = try daemon.client(["images", "-q", "--no-trunc"]).stdout
        if listed.contains(id) {
            let size = try daemon.client(["run", "--rm", id, "wc", "-c", "/blob"])
            #expect(size.stdout.hasPrefix("\(Self.blobBytes) "), "\(size.stderr)")
        }
        #expect(try daemon.client(["run", "--rm", "busybox", "true"]).status == 0)

        let again = try daemon.client(["load", "-i", "\(daemon.work)/saved.tar"])
        #expect(again.status == 0, "\(again.stderr)")
        let size = try daemon.client(["run", "--rm", "127.0.0.1:5000/crash/big", "wc", "-c", "/blob"])
        #expect(size.stdout.hasPrefix("\(Self.blobBytes) "), "\(size.stderr)")
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    /// Polls `directory` until a name starting with `prefix` appears.
    private func waitForEntry(in directory: String, prefix: String) throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            if names.contains(where: { $0.hasPrefix(prefix) }) { return }
            Thread.sleep(forTimeInterval: 0.002)
        }
        throw HarnessError("no \(prefix)* appeared in \(directory) within 20 s")
    }
}
