import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdSystem

extension Daemon {
    /// `GET /containers/{id}/logs`: the json-file log as a multiplexed stream, then with
    /// `follow` the new lines until the container stops.
    func logs(_ job: Job) async throws {
        let container = try container(try job.argument("name"))
        let wantStdout = job.environment.bool("stdout")
        let wantStderr = job.environment.bool("stderr")
        guard wantStdout || wantStderr else {
            throw SwiftdError(.invalidArgument, "you must choose at least one stream")
        }
        let timestamps = job.environment.bool("timestamps")
        let follow = job.environment.bool("follow")
        // A negative or unparsable tail means all lines, as dockerd reads it.
        let tail = job.environment["tail"].flatMap { Int($0) }.flatMap { $0 < 0 ? nil : $0 }

        // Commit the response head now, so a following client sees the stream begin.
        try await job.stdout.write([])
        let file = FileHandle(forReadingAtPath: container.logPath)
        defer { try? file?.close() }
        var pending: [UInt8] = []
        var first = true
        while true {
            let running = container.isRunning
            // Read only what was appended since the last round.
            if let data = try file?.readToEnd() { pending += data }
            var lines = pending.split(separator: 10, omittingEmptySubsequences: true).map(Array.init)
            // A line still being written has no newline yet; keep it for the next round.
            if pending.last != 10, let partial = lines.popLast() {
                pending = partial
            } else {
                pending = []
            }
            if first, let tail { lines = Array(lines.suffix(tail)) }
            first = false
            // Frames go out in batches of about 64 KiB: one chunk per line is slow for big logs.
            let decoder = JSONDecoder()
            var batch: [UInt8] = []
            for line in lines {
                guard let entry = try? decoder.decode(LogEntry.self, from: Data(line)) else { continue }
                let kind: StreamFrame.Kind = entry.stream == "stderr" ? .stderr : .stdout
                if kind == .stdout && !wantStdout || kind == .stderr && !wantStderr { continue }
                let text = timestamps ? "\(entry.time) \(entry.log)" : entry.log
                batch += StreamFrame.encode(kind, Array(text.utf8))
                if batch.count >= 65536 {
                    try await job.stdout.write(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            try await job.stdout.write(batch)
            if !follow || !running { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// `POST /containers/{id}/attach`: the container's output from now until its process exits.
    func attach(_ job: Job) async throws {
        let container = try container(try job.argument("name"))
        let wantStdout = job.environment.bool("stdout")
        let wantStderr = job.environment.bool("stderr")
        guard job.environment.bool("stream") || job.environment.bool("logs") else {
            throw SwiftdError(.invalidArgument, "attach needs stream=1 or logs=1")
        }
        if job.environment.bool("stdin") && container.record.config.OpenStdin {
            throw SwiftdError(.unsupported, "attaching stdin is not supported yet")
        }
        let apiVersion = job.environment["apiVersion"] ?? APIVersion.current
        job.environment["contentType"] = APIVersion.compare(apiVersion, "1.42") >= 0
            ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream"
        let events = container.output.subscribe()
        // Send the 101 head: the client starts the container only once it has it.
        try await job.stdout.write([])
        guard job.environment.bool("stream") else { return }
        for await event in events {
            switch event {
            case .data(let kind, let bytes):
                if kind == .stdout && !wantStdout || kind == .stderr && !wantStderr { continue }
                try await job.stdout.write(StreamFrame.encode(kind, bytes))
            case .end:
                return
            }
        }
    }
}

/// One line of a json-file log.
struct LogEntry: Codable {
    var log: String
    var stream: String
    var time: String
}

/// Signal names and numbers as `docker kill -s` and `StopSignal` accept them.
enum Signals {
    static let names: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
        "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16,
        "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
        "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "PWR": 30, "SYS": 31,
    ]

    /// Parses `SIGTERM`, `TERM` or `15`.
    static func parse(_ text: String) throws -> Int32 {
        if let number = Int32(text), (1...64).contains(number) { return number }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        guard let number = names[name] else {
            throw SwiftdError(.invalidArgument, "Invalid signal: \(text)")
        }
        return number
    }
}

/// Random container names in Docker's `adjective_surname` form.
enum NameGenerator {
    static let adjectives = [
        "admiring", "bold", "brave", "busy", "clever", "eager", "elegant", "focused", "gallant",
        "happy", "keen", "kind", "lucid", "nifty", "quirky", "serene", "sharp", "tender", "vibrant",
        "zealous",
    ]
    static let surnames = [
        "babbage", "curie", "dijkstra", "hopper", "knuth", "lamport", "liskov", "lovelace",
        "mccarthy", "noether", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak",
    ]

    static func random() -> String {
        "\(adjectives.randomElement() ?? "eager")_\(surnames.randomElement() ?? "turing")"
    }

    /// Reports whether `name` matches Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    static func isValid(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.count >= 2 else {
            return false
        }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }
}
