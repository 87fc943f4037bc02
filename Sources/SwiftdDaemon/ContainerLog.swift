import Dispatch
import Foundation
import Synchronization
import SwiftdArchive
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A container's json-file log: the file output is appended to, its rotation, and the readers
/// that follow it.
///
/// Rotation works as dockerd's: before an entry that would take the file past `max-size`, the
/// file becomes `<log>.1` (and `.1` becomes `.2`, up to `max-file` files in all) and a new file
/// starts. Followers hold open descriptors, so a rotation that happens while they read loses
/// nothing: each is handed the new file as it is created.
///
/// With `compress`, a rotated file is gzip-compressed to `<log>.1.gz` off the writer's thread,
/// and the older ones are `<log>.2.gz` and so on, as dockerd names them. With the `none`
/// driver nothing is written.
final class ContainerLog: Sendable {
    let path: String
    private let state = Mutex<State>(State())
    /// Compresses rotated files one at a time, so that a rotation can wait for the last one.
    private let compression = DispatchQueue(label: "swiftd.container-log.compress")

    private struct State {
        var fd: Int32 = -1
        var size: Int64 = 0
        var options = LogOptions()
        var followers: [Int: LogFollower] = [:]
        var nextFollower = 0
    }

    init(path: String) {
        self.path = path
    }

    /// The path of the `index`-th rotated file; 0 is the current file.
    func path(_ index: Int) -> String { index == 0 ? path : "\(path).\(index)" }

    /// Returns the path of the `index`-th rotated file once compressed.
    func compressedPath(_ index: Int) -> String { "\(path).\(index).gz" }

    /// Opens the current file for appending, with the rotation of `options`; with the `none`
    /// driver, only records that nothing is to be written.
    func open(_ options: LogOptions) throws {
        let fd: Int32
        if options.driver == "none" {
            fd = -1
        } else {
            fd = try retryingInterrupts("open", path) {
                Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            }
        }
        var info = stat()
        let size = fstat(fd, &info) == 0 ? Int64(info.st_size) : 0
        let previous = state.withLock { state in
            defer {
                state.fd = fd
                state.size = size
                state.options = options
            }
            return state.fd
        }
        if previous >= 0 { Glibc.close(previous) }

        // A daemon that stopped during a compression, or a compression that failed, left
        // `.1` uncompressed; compress it now, before a rotation replaces it.
        let rotated = self.path(1)
        if options.compress && access(rotated, F_OK) == 0 {
            compression.async { Self.compress(rotated) }
        }
    }

    /// Appends whole entries, rotating before one that would take the file past `max-size`.
    func append(_ entries: [[UInt8]]) {
        state.withLock { state in
            guard state.options.driver != "none" else { return }
            var batch: [UInt8] = []
            for entry in entries {
                let size = state.size + Int64(batch.count)
                if let maxSize = state.options.maxSize, size > 0, size + Int64(entry.count) > maxSize
                {
                    write(batch, &state)
                    batch.removeAll(keepingCapacity: true)
                    rotate(&state)
                }
                batch += entry
            }
            write(batch, &state)
        }
    }

    private func write(_ bytes: [UInt8], _ state: inout State) {
        guard !bytes.isEmpty else { return }
        if state.fd < 0 {
            state.fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard state.fd >= 0 else { return }
        }
        // A full disk loses the entry, as with dockerd; the container keeps running.
        if (try? FileSystem.writeAll(state.fd, bytes, subject: "container log")) != nil {
            state.size += Int64(bytes.count)
        }
    }

    /// Shifts the files up by one, dropping the oldest, and starts a new current file.
    private func rotate(_ state: inout State) {
        if state.fd >= 0 { Glibc.close(state.fd) }
        let count = state.options.maxFile
        if state.options.compress && count > 1 {
            // Wait for the last compression, which moves `.1` to `.1.gz`, before shifting.
            compression.sync {}
            for index in stride(from: count - 1, through: 2, by: -1) {
                rename(compressedPath(index - 1), compressedPath(index))
            }
            unlink(compressedPath(1))
            let rotated = self.path(1)
            rename(path, rotated)
            compression.async { Self.compress(rotated) }
        } else if count > 1 {
            for index in stride(from: count - 1, through: 1, by: -1) {
                rename(self.path(index - 1), self.path(index))
            }
        } else {
            unlink(path)
        }
        state.fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        state.size = 0
        for follower in state.followers.values {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { follower.add(fd) }
        }
    }

    /// Compresses `source` to `source.gz` and removes `source`. The compressed file appears
    /// before `source` goes, so a reader always finds one of the two.
    ///
    /// NOTE: a failed compression (a full disk) leaves `source` as it is, and the next
    /// rotation replaces it, losing that file's entries, unless the container starts again
    /// first (`open` retries the compression).
    private static func compress(_ source: String) {
        let temporary = "\(source).gz.tmp"
        do {
            try GzipCompressor.compress(file: source, to: temporary)
        } catch {
            unlink(temporary)
            return
        }
        chmod(temporary, 0o640)
        rename(temporary, "\(source).gz")
        unlink(source)
    }

    /// Closes the current file when the container's output has ended; followers finish.
    /// Waits for a compression under way, so that removing the container afterwards leaves
    /// no compressed file behind.
    func close() {
        compression.sync {}
        let (fd, followers) = state.withLock { state in
            defer {
                state.fd = -1
                state.followers = [:]
            }
            return (state.fd, Array(state.followers.values))
        }
        if fd >= 0 { Glibc.close(fd) }
        for follower in followers { follower.finish() }
    }

    /// Opens every file of the log, oldest first, and with `follow` registers a follower that
    /// receives the files rotation creates from now on; nil when nothing writes the log.
    ///
    /// A compressed file comes back as an unlinked temporary file with its uncompressed
    /// entries; one that fails to decompress is left out.
    func snapshot(follow: Bool) -> (files: [Int32], follower: LogFollower?) {
        let (opened, follower) = state.withLock { state in
            var files: [(fd: Int32, compressed: Bool)] = []
            var index = 0
            while true {
                var file = (fd: Glibc.open(self.path(index), O_RDONLY | O_CLOEXEC), compressed: false)
                if file.fd < 0 && index > 0 {
                    file = (Glibc.open(compressedPath(index), O_RDONLY | O_CLOEXEC), true)
                }
                guard file.fd >= 0 else { break }
                files.insert(file, at: 0)
                index += 1
            }
            guard follow && state.fd >= 0 else { return (files, nil as LogFollower?) }
            let follower = LogFollower(id: state.nextFollower)
            state.followers[follower.id] = follower
            state.nextFollower += 1
            return (files, follower)
        }
        // Decompress outside the lock, so that the container's output is not held up.
        let files = opened.compactMap { file in file.compressed ? decompressed(file.fd) : file.fd }
        return (files, follower)
    }

    /// Decompresses the gzip file `fd` (closed here) into an unlinked temporary file next to
    /// the log. Returns that file positioned at its start, or nil when decompression fails.
    private func decompressed(_ fd: Int32) -> Int32? {
        defer { Glibc.close(fd) }
        let temporary = "\(path).read-\(UInt64.random(in: 0...UInt64.max))"
        let output = Glibc.open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { return nil }
        unlink(temporary)
        do {
            try GzipDecompressor.decompress(descriptor: fd, to: output)
        } catch {
            Glibc.close(output)
            return nil
        }
        lseek(output, 0, SEEK_SET)
        return output
    }

    /// Stops handing files to `follower` and closes those it has not taken.
    func remove(_ follower: LogFollower) {
        state.withLock { _ = $0.followers.removeValue(forKey: follower.id) }
        for fd in follower.take().files { Glibc.close(fd) }
    }
}

/// A reader of a container's log that is told of each rotation and of the log's end.
final class LogFollower: Sendable {
    let id: Int
    private let state = Mutex<(files: [Int32], finished: Bool)>(([], false))

    init(id: Int) {
        self.id = id
    }

    func add(_ fd: Int32) { state.withLock { $0.files.append(fd) } }

    func finish() { state.withLock { $0.finished = true } }

    /// The files started since the last call, oldest first, and whether the log has ended.
    ///
    /// A file followed by a newer one is complete, as is the last one once the log has ended.
    func take() -> (files: [Int32], finished: Bool) {
        state.withLock { state in
            defer { state.files = [] }
            return state
        }
    }
}

/// The times of json-file entries: RFC 3339 in UTC with nine fractional digits, as dockerd
/// writes them, kept as nanoseconds since 1970.
enum LogTime {
    /// The current time in nanoseconds since 1970.
    static func now() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Formats `nanoseconds` as `2006-01-02T15:04:05.000000000Z`.
    static func format(_ nanoseconds: Int64) -> String {
        var seconds = time_t(nanoseconds.floorDivided(by: 1_000_000_000))
        let fraction = nanoseconds - Int64(seconds) * 1_000_000_000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ value: some BinaryInteger, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))T"
            + "\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))."
            + "\(padded(fraction, 9))Z"
    }

    /// Parses an entry's RFC 3339 time, with any number of fractional digits and a `Z` or a
    /// `±hh:mm` offset; nil when it is not one.
    static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<(start + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84 || bytes[10] == 116,
            bytes[13] == 58, bytes[16] == 58,
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if bytes[index] == 46 {
            index += 1
            var digits = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                if digits < 9 { fraction = fraction * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { fraction *= 10 }
        }
        var offset = 0
        guard index < bytes.count else { return nil }
        if bytes[index] == 90 || bytes[index] == 122 {
            guard index + 1 == bytes.count else { return nil }
        } else {
            guard bytes[index] == 43 || bytes[index] == 45, index + 6 == bytes.count, bytes[index + 3] == 58,
                let hours = number(index + 1, 2), let minutes = number(index + 4, 2)
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == 45 ? -1 : 1)
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = Int64(timegm(&parts)) - Int64(offset)
        return seconds * 1_000_000_000 + fraction
    }

    /// Parses the API's `since` and `until`: Unix seconds with an optional fraction of up to
    /// nine digits, as dockerd's `ParseTimestamps` reads them.
    static func parseUnix(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = Int64(parts[0]) else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits)
            else { return nil }
            fraction = value
            for _ in digits.count..<9 { fraction *= 10 }
        }
        return seconds * 1_000_000_000 + (seconds < 0 || parts[0].hasPrefix("-") ? -fraction : fraction)
    }
}

extension Int64 {
    /// Divides rounding toward negative infinity.
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
