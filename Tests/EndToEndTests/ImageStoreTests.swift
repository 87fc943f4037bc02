import Foundation
import Testing

/// Image listing filters, `--change`, and forced removal, through the client and the API.
@Suite("image store", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ImageStoreTests {
    @Test("images list filters")
    func filters() throws {
        try DaemonHarness.withDaemon { daemon in
            let tar = "\(daemon.work)/busybox.tar"
            let labelled = try daemon.client(["import", "-c", "LABEL tier=web", tar, "127.0.0.1:5000/web/box:1"])
            #expect(labelled.status == 0, "\(labelled.stderr)")
            #expect(try daemon.client(["import", "-c", "LABEL tier=db", tar]).status == 0)

            let byPattern = try daemon.client(["images", "127.0.0.1:5000/web/*"])
            #expect(byPattern.stdout.contains("127.0.0.1:5000/web/box"))
            #expect(!byPattern.stdout.contains("busybox"))
            let byTag = try daemon.client(["images", "--filter", "reference=busy*:latest"])
            #expect(byTag.stdout.contains("busybox"))
            #expect(!byTag.stdout.contains("web/box"))

            let dangling = try daemon.client(["images", "-q", "--filter", "dangling=true"]).stdout
            #expect(dangling.split(separator: "\n").count == 1)
            let tagged = try daemon.client(["images", "-q", "--filter", "dangling=false"]).stdout
            #expect(tagged.split(separator: "\n").count == 2)

            let web = try daemon.client(["images", "-q", "--filter", "label=tier=web"]).stdout
            let box = try daemon.client(["images", "-q", "127.0.0.1:5000/web/box:1"]).stdout
            #expect(web == box)
            #expect(try daemon.client(["images", "-q", "--filter", "label=tier"]).stdout
                .split(separator: "\n").count == 2)

            // busybox was imported first, the labelled images after it.
            let since = try daemon.client(["images", "-q", "--filter", "since=busybox"]).stdout
            #expect(since.split(separator: "\n").count == 2)
            let before = try daemon.client(["images", "-q", "--filter", "before=127.0.0.1:5000/web/box:1"]).stdout
            #expect(before == (try daemon.client(["images", "-q", "busybox"]).stdout))

            let bad = try daemon.client(["images", "--filter", "color=red"])
            #expect(bad.status == 1)
            #expect(bad.stderr.contains("invalid filter 'color'"))
            let badBool = try daemon.client(["images", "--filter", "dangling=maybe"])
            #expect(badBool.status == 1)
            #expect(badBool.stderr.contains("expected true or false"))
        }
    }

    @Test("import and commit changes")
    func changes() throws {
        try DaemonHarness.withDaemon { daemon in
            let tar = "\(daemon.work)/busybox.tar"
            let imported = try daemon.client([
                "import", "--change", "ENV GREETING=hello", "--change", #"CMD ["sh", "-c", "echo $GREETING from $(pwd)"]"#,
                "-c", "WORKDIR /tmp", tar, "127.0.0.1:5000/changed/box",
            ])
            #expect(imported.status == 0, "\(imported.stderr)")
            let ran = try daemon.client(["run", "--rm", "127.0.0.1:5000/changed/box"])
            #expect(ran.stdout == "hello from /tmp\n", "\(ran.stderr)")

            #expect(try daemon.client(["create", "--name", "source", "busybox", "true"]).status == 0)
            let committed = try daemon.client([
                "commit", "-c", "ENTRYPOINT [\"echo\", \"entry\"]", "-c", "CMD [\"args\"]", "source", "127.0.0.1:5000/committed/box",
            ])
            #expect(committed.status == 0, "\(committed.stderr)")
            let echoed = try daemon.client(["run", "--rm", "127.0.0.1:5000/committed/box"])
            #expect(echoed.stdout == "entry args\n", "\(echoed.stderr)")

            let rejected = try daemon.client(["import", "-c", "RUN rm -rf /", tar])
            #expect(rejected.status == 1)
            #expect(rejected.stderr.contains("RUN is not a valid change command"))
            let rejectedCommit = try daemon.client(["commit", "-c", "EXPOSE 99999", "source"])
            #expect(rejectedCommit.status == 1)
            #expect(rejectedCommit.stderr.contains("invalid port"))
            #expect(try daemon.client(["rm", "source"]).status == 0)
        }
    }

    @Test("forced image removal")
    func forcedRemoval() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try daemon.client(["images", "-q", "busybox"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try daemon.client(["tag", "busybox", "127.0.0.1:5000/other/box"]).status == 0)
            let unforced = try daemon.client(["rmi", id])
            #expect(unforced.status == 1)
            #expect(unforced.stderr.contains("referenced in multiple repositories"))

            #expect(try daemon.client(["run", "-d", "--name", "busy", "busybox", "sleep", "60"]).status == 0)
            let running = try daemon.client(["rmi", "-f", id])
            #expect(running.status == 1)
            #expect(running.stderr.contains("cannot be forced"))
            #expect(try daemon.client(["rm", "-f", "busy"]).status == 0)

            #expect(try daemon.client(["create", "--name", "stopped", "busybox", "true"]).status == 0)
            let forced = try daemon.client(["rmi", "-f", id])
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(forced.stdout.contains("Untagged: busybox:latest"))
            #expect(forced.stdout.contains("Untagged: 127.0.0.1:5000/other/box:latest"))
            #expect(forced.stdout.contains("Deleted: sha256:\(id)"), "\(forced.stdout)")
            // The image goes, as in dockerd; the container keeps its layers and still starts.
            #expect(try daemon.client(["images", "-a", "-q"]).stdout.isEmpty)
            let started = try daemon.client(["start", "stopped"])
            #expect(started.status == 0, "\(started.stderr)")
            #expect(try daemon.client(["wait", "stopped"]).stdout == "0\n")
            #expect(try daemon.client(["rm", "stopped"]).status == 0)
            try daemon.importBusybox()
        }
    }

    @Test("vfs driver end to end")
    func vfsDriver() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["-s", "vfs"])
        try daemon.importBusybox()

        let info = try daemon.client(["info"])
        #expect(info.stdout.contains("Storage Driver: vfs"), "\(info.stdout)")
        let ran = try daemon.client(["run", "--name", "copy", "busybox", "sh", "-c", "echo hi > /greeting; rm /bin/true"])
        #expect(ran.status == 0, "\(ran.stderr)")
        let diff = try daemon.client(["diff", "copy"]).stdout
        #expect(diff.contains("A /greeting"))
        #expect(diff.contains("D /bin/true"))
        #expect(try daemon.client(["commit", "copy", "127.0.0.1:5000/vfs/box"]).status == 0)
        let again = try daemon.client(["run", "--rm", "127.0.0.1:5000/vfs/box", "sh", "-c", "cat /greeting; ls /bin/true"])
        #expect(again.stdout == "hi\n")
        #expect(again.stderr.contains("No such file"))
        #expect(try daemon.client(["rm", "copy"]).status == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(daemon.root)/overlay2")
            .filter { name in FileManager.default.fileExists(atPath: "\(daemon.root)/overlay2/\(name)/rootfs") }
        #expect(leftovers.isEmpty, "container copies left: \(leftovers)")
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("vfs chosen where overlay fails")
    func vfsDetected() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        // overlayfs does not take another overlay as its upper directory, so a root on an
        // overlay mount makes the daemon's probe fail.
        let layers = "\(daemon.work)/outer"
        for part in ["lower", "upper", "work"] {
            try FileManager.default.createDirectory(atPath: "\(layers)/\(part)", withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(atPath: daemon.root, withIntermediateDirectories: true)
        let mounted = try DaemonHarness.capture("/usr/bin/mount", [
            "-t", "overlay", "overlay", "-o", "lowerdir=\(layers)/lower,upperdir=\(layers)/upper,workdir=\(layers)/work",
            daemon.root,
        ])
        #expect(mounted.status == 0, "\(mounted.stderr)")
        // Runs before the harness's clean-up, which cannot remove a mount point.
        defer { umount2(daemon.root, Int32(MNT_DETACH)) }
        try daemon.start()
        try daemon.importBusybox()
        #expect(try daemon.client(["info"]).stdout.contains("Storage Driver: vfs"))
        #expect(daemon.daemonLog.contains("using the vfs driver"))
        #expect(try daemon.client(["run", "--rm", "busybox", "true"]).status == 0)
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }
}

/// `ps` filters and limits through the client.
@Suite("container list", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ContainerListTests {
    @Test("ps filters and limits")
    func filters() throws {
        try DaemonHarness.withDaemon { daemon in
            #expect(try daemon.client(["run", "-d", "--name", "web", "--label", "tier=web", "busybox", "sleep", "60"]).status == 0)
            #expect(try daemon.client(["run", "--name", "failed", "busybox", "sh", "-c", "exit 3"]).status == 3)
            #expect(try daemon.client(["create", "--name", "fresh", "--label", "tier=db", "busybox", "true"]).status == 0)
            func names(_ arguments: [String]) throws -> [String] {
                let result = try daemon.client(["ps", "--format", "{{.Names}}"] + arguments)
                #expect(result.status == 0, "\(result.stderr)")
                return result.stdout.split(separator: "\n").map(String.init).sorted()
            }
            #expect(try names([]) == ["web"])
            #expect(try names(["-a", "--filter", "label=tier"]) == ["fresh", "web"])
            #expect(try names(["--filter", "label=tier=db"]) == [])
            #expect(try names(["-a", "--filter", "label=tier=db"]) == ["fresh"])
            #expect(try names(["--filter", "status=exited"]) == ["failed"])
            #expect(try names(["--filter", "exited=3"]) == ["failed"])
            #expect(try names(["--filter", "exited=0"]) == [])
            #expect(try names(["--filter", "status=created"]) == ["fresh"])
            #expect(try names(["-a", "--filter", "name=fai"]) == ["failed"])
            #expect(try names(["-a", "--filter", "ancestor=busybox"]) == ["failed", "fresh", "web"])
            #expect(try names(["-a", "--filter", "since=web"]) == ["failed", "fresh"])
            #expect(try names(["-a", "--filter", "before=fresh"]) == ["failed", "web"])
            #expect(try names(["-n", "2"]) == ["failed", "fresh"])
            #expect(try names(["-l"]) == ["fresh"])

            let badStatus = try daemon.client(["ps", "--filter", "status=sleeping"])
            #expect(badStatus.status == 1)
            #expect(badStatus.stderr.contains("invalid filter 'status=sleeping'"))
            let badKey = try daemon.client(["ps", "--filter", "colour=red"])
            #expect(badKey.status == 1)
            #expect(badKey.stderr.contains("invalid filter 'colour'"))
            #expect(try daemon.client(["rm", "-f", "web", "failed", "fresh"]).status == 0)
        }
    }
}
