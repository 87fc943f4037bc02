import Foundation
import Testing

/// `filters` of `GET /networks` and `POST /networks/prune`, through the client.
@Suite(
    "network filters", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for bridges and iptables"))
struct NetworkFilterTests {
    @Test("list and prune by filter")
    func listAndPrune() throws {
        try DaemonHarness.withDaemon { daemon in
            let token = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let kept = try TestNetwork("kept-\(token)")
            let pruned = try TestNetwork("pruned-\(token)")
            defer {
                kept.cleanUp()
                pruned.cleanUp()
            }
            try kept.create(daemon, ["--label", "keep=yes"])
            try pruned.create(daemon, ["--label", "drop=yes"])
            func names(_ filters: [String]) throws -> [String] {
                let result = try daemon.client(
                    ["network", "ls"] + filters.flatMap { ["--filter", $0] })
                #expect(result.status == 0, "\(result.stderr)")
                // The table's NAME column, without the heading.
                return result.stdout.split(separator: "\n").dropFirst().compactMap { line in
                    line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
                        .map(String.init)
                }.sorted()
            }
            #expect(try names(["name=\(token)"]) == [kept.name, pruned.name].sorted())
            #expect(try names(["label=keep=yes"]) == [kept.name])
            #expect(try names(["type=builtin"]) == ["bridge", "host", "none"])
            #expect(try names(["type=custom", "dangling=true"]) == [kept.name, pruned.name].sorted())
            let bad = try daemon.client(["network", "ls", "--filter", "colour=red"])
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("invalid filter 'colour'"), "\(bad.stderr)")

            let prune = try daemon.client(["network", "prune", "-f", "--filter", "label=drop=yes"])
            #expect(prune.status == 0, "\(prune.stderr)")
            #expect(prune.stdout.contains(pruned.name), "\(prune.stdout)")
            #expect(try names(["name=\(token)"]) == [kept.name])
            #expect(try daemon.client(["network", "rm", kept.name]).status == 0)
        }
    }

    @Test("prune until a time or duration")
    func pruneUntil() throws {
        try DaemonHarness.withDaemon { daemon in
            let token = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            let old = try TestNetwork("old-\(token)")
            let new = try TestNetwork("new-\(token)")
            defer {
                old.cleanUp()
                new.cleanUp()
            }
            try old.create(daemon)
            Thread.sleep(forTimeInterval: 3)
            try new.create(daemon)
            func listed() throws -> String {
                try daemon.client(["network", "ls", "--filter", "name=\(token)"]).stdout
            }

            // Created more than 2 s ago: only the old network.
            let byDuration = try daemon.client(["network", "prune", "-f", "--filter", "until=2s"])
            #expect(byDuration.status == 0, "\(byDuration.stderr)")
            #expect(byDuration.stdout.contains(old.name), "\(byDuration.stdout)")
            #expect(!byDuration.stdout.contains(new.name), "\(byDuration.stdout)")
            #expect(!(try listed()).contains(old.name))
            #expect(try listed().contains(new.name))

            let past = try daemon.client(
                ["network", "prune", "-f", "--filter", "until=2000-01-01T00:00:00Z"])
            #expect(past.status == 0, "\(past.stderr)")
            #expect(try listed().contains(new.name))
            let future = Int(Date().timeIntervalSince1970) + 3600
            let byTime = try daemon.client(
                ["network", "prune", "-f", "--filter", "until=\(future)"])
            #expect(byTime.status == 0, "\(byTime.stderr)")
            #expect(byTime.stdout.contains(new.name), "\(byTime.stdout)")
            #expect(!(try listed()).contains(new.name))

            let bad = try NetworkConnectTests.post(
                daemon, "/networks/prune?filters=%7B%22until%22%3A%5B%22soon%22%5D%7D", "")
            #expect(bad.0 == 400, "\(bad)")
            #expect(bad.1.contains("invalid until filter"), "\(bad.1)")
        }
    }
}
