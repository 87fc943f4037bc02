import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Daemon {
    /// `GET /containers/{id}/logs`: the json-file log, rotated files first, as a multiplexed
    /// stream; with `follow`, then the new entries until the container's output ends. A
    /// container with the `none` driver has no log to read (501, as in dockerd).
    ///
    /// `tail` counts entries across the files; `since` and `until` are Unix seconds with an
    /// optional fraction, and `until` ends the stream at the first entry after it.
    func logs(_ job: Job) async throws {
        let container = try container(try job.argument("name"))
        var reader = LogReader(
            stdout: job.environment.bool("stdout"), stderr: job.environment.bool("stderr"),
            timestamps: job.environment.bool("timestamps"))
        guard reader.wantStdout || reader.wantStderr else {
            throw SwiftdError(.invalidArgument, "you must choose at least one stream")
        }
        if container.record.hostConfig.LogConfig?.Type == "none" {
            throw SwiftdError(.unsupported, "configured logging driver does not support reading")
        }
        reader.since = try unixTime(job.environment["since"], name: "since")
        reader.until = try unixTime(job.environment["until"], name: "until")
        let follow = job.environment.bool("follow")
        // A negative or unparsable tail means all lines, as dockerd reads it.
        let tail = job.environment["tail"].flatMap { Int($0) }.flatMap { $0 < 0 ? nil : $0 }

        // Commit the response head now, so a following client sees the stream begin.
        try await job.stdout.write([])
        var (files, follower) = container.log.snapshot(follow: follow)
        defer {
            for fd in files where fd >= 0 { close(fd) }
            if let follower { container.log.remove(follower) }
        }
        var index = 0
        if let tail { index = LogReader.seek(files, tail: tail) }
        while true {
            let status = follower?.take() ?? (files: [], finished: true)
            files += status.files
            if index < files.count, try !reader.read(files[index]) {
                // The reader stopped for the output to go out first.
                try await job.stdout.write(reader.take())
                continue
            }
            if reader.ended { break }
            if index + 1 < files.count {
                // Only a finished file has a newer one; what it left unended is dropped.
                close(files[index])
                files[index] = -1
                reader.pending = []
                index += 1
                try await job.stdout.write(reader.take())
                continue
            }
            if status.finished { break }
            try await job.stdout.write(reader.take(flushing: true))
            if let until = reader.until, LogTime.now() > until { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await job.stdout.write(reader.take(flushing: true))
    }

    /// Reads `since` or `until` as Unix seconds; nil when absent or empty.
    private func unixTime(_ text: String?, name: String) throws -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = LogTime.parseUnix(text) else {
            throw SwiftdError(.invalidArgument, "invalid \(name) \(text): expected Unix seconds such as 1700000000.5")
        }
        return value
    }
}

/// One line of a json-file log.
struct LogEntry: Codable {
    var log: String
    var stream: String
    var time: String
}

/// Turns json-file lines into multiplexed frames, filtered by stream and time.
///
/// Entries that end without a newline (pieces of a long line) join the next entry of the same
/// stream, up to 1 MiB, so a long line comes back as one frame.
struct LogReader {
    let wantStdout: Bool
    let wantStderr: Bool
    let timestamps: Bool
    var since: Int64?
    var until: Int64?
    /// Set at the first entry after `until`.
    private(set) var ended = false
    /// The start of a line still being written.
    var pending: [UInt8] = []
    private var output: [UInt8] = []
    private var carry: [UInt8] = []
    private var carryKind: StreamFrame.Kind = .stdout
    private let decoder = JSONDecoder()

    static let maxFrame = 1 << 20

    init(stdout: Bool, stderr: Bool, timestamps: Bool) {
        wantStdout = stdout
        wantStderr = stderr
        self.timestamps = timestamps
    }

    /// Reads `fd` from its offset, turning the complete lines into frames; true at the end of
    /// the file or the log, false when 4 MiB of frames are waiting to be taken.
    mutating func read(_ fd: Int32) throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 262_144)
        while !ended && output.count < 4 << 20 {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", "container log") { Glibc.read(fd, raw.baseAddress, raw.count) }
            }
            if count == 0 { return true }
            var start = 0
            for index in 0..<count where buffer[index] == 10 {
                if pending.isEmpty {
                    handle(buffer[start..<index])
                } else {
                    pending += buffer[start..<index]
                    handle(pending[...])
                    pending = []
                }
                start = index + 1
                if ended { return true }
            }
            pending += buffer[start..<count]
        }
        return ended
    }

    /// The frames ready to send; with `flushing`, also the unfinished line's.
    mutating func take(flushing: Bool = false) -> [UInt8] {
        if flushing { flushCarry() }
        defer { output = [] }
        return output
    }

    private mutating func handle(_ line: ArraySlice<UInt8>) {
        guard !line.isEmpty, let entry = try? decoder.decode(LogEntry.self, from: Data(line)) else { return }
        let kind: StreamFrame.Kind = entry.stream == "stderr" ? .stderr : .stdout
        if kind == .stdout && !wantStdout || kind == .stderr && !wantStderr { return }
        let time = since != nil || until != nil || timestamps ? LogTime.parse(entry.time) : nil
        if let since, let time, time < since { return }
        if let until, let time, time > until {
            ended = true
            return
        }
        if !carry.isEmpty && carryKind != kind { flushCarry() }
        if carry.isEmpty && timestamps {
            carry += Array(((time.map(LogTime.format) ?? entry.time) + " ").utf8)
        }
        carryKind = kind
        carry += Array(entry.log.utf8)
        if carry.last == 10 || carry.count >= Self.maxFrame { flushCarry() }
    }

    private mutating func flushCarry() {
        guard !carry.isEmpty else { return }
        output += StreamFrame.encode(carryKind, carry)
        carry = []
    }

    /// The index of the file to start at for the last `tail` entries of `files` (oldest
    /// first), with that file's offset set at the first of them.
    static func seek(_ files: [Int32], tail: Int) -> Int {
        // Pass `tail` line ends, and one more that ends the line before the first wanted.
        var needed = max(tail, 1) + 1
        var block = [UInt8](repeating: 0, count: 65536)
        var first = true
        for index in files.indices.reversed() {
            var end = Int(lseek(files[index], 0, SEEK_END))
            if first && end > 0 {
                // A last line still being written counts as one of the tail; without one,
                // tail 0 starts after the last line end.
                let partial = pread(files[index], &block, 1, off_t(end - 1)) == 1 && block[0] != 10
                if partial {
                    needed -= 1
                } else if tail == 0 {
                    needed = 1
                }
                first = false
            }
            while end > 0 {
                let start = max(0, end - block.count)
                let count = block.withUnsafeMutableBytes { pread(files[index], $0.baseAddress, end - start, off_t(start)) }
                guard count == end - start else { break }
                for offset in stride(from: count - 1, through: 0, by: -1) where block[offset] == 10 {
                    needed -= 1
                    if needed == 0 {
                        lseek(files[index], off_t(start + offset + 1), SEEK_SET)
                        return index
                    }
                }
                end = start
            }
            lseek(files[index], 0, SEEK_SET)
        }
        return 0
    }
}
