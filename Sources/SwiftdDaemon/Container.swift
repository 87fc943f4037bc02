import Foundation
import Synchronization
import SwiftdAPI
import SwiftdExec
import SwiftdNetwork
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The stored form of a container, in `containers/<id>/config.v2.json`.
struct ContainerRecord: Codable, Sendable {
    var id: String
    var name: String
    var created: String
    var imageID: String
    /// The image as the user named it.
    var imageName: String
    var path: String
    var args: [String]
    var config: ContainerConfig
    var hostConfig: HostConfig
    var state: ContainerState
    /// The network of the network mode: `bridge`, a user-defined network's name, `none`,
    /// `host` or `container:ID`.
    var networkName: String
    /// The bridge networks, see `attachments`.
    var networks: [NetworkAttachment]?
    /// Automatic restarts since the last manual start (`RestartCount` in inspect).
    var restartCount: Int?
    /// Set by `docker stop`: the restart policy waits for the next manual start.
    var manuallyStopped: Bool?
    /// Binds, volumes and tmpfs mounts, resolved at create.
    var mountPoints: [MountPoint]?
}

/// A container: its stored record, and the run-time links to its process and output.
final class Container: Sendable {
    let id: String
    let directory: String
    /// The record, and how many times it has changed since this object was made.
    private let state: Mutex<(record: ContainerRecord, revision: UInt64)>
    /// The JSON of the container's list entry, with the revision, status text and image it shows.
    private let listEntryCache = Mutex<(revision: UInt64, status: String, image: String, json: [UInt8])?>(nil)
    let output: OutputBroadcast
    /// The json-file log of the container's output, with its rotation and followers.
    let log: ContainerLog
    /// Told when the container's process exits (after cleanup), with its exit code.
    private let exitWaiters = Mutex<[AsyncStream<Int32>.Continuation]>([])
    /// Resumed when the container is removed.
    private let removalWaiters = Mutex<[AsyncStream<Void>.Continuation]>([])
    /// Set while a start or stop is under way, so that two cannot overlap.
    let busy = Mutex<Bool>(false)
    /// The running process's stdin (with `OpenStdin`) and terminal (with `Tty`), if any.
    let input = Mutex<ProcessInput?>(nil)
    /// The connection to the running process's monitor.
    let monitor = Mutex<ContainerMonitor?>(nil)
    /// The pump of the running process's output.
    let pump = Mutex<OutputPump?>(nil)
    /// The restart back-off of this daemon run.
    let restartState = Mutex<RestartState>(RestartState())

    init(record: ContainerRecord, directory: String) {
        id = record.id
        self.directory = directory
        state = Mutex((record, 0))
        output = OutputBroadcast()
        log = ContainerLog(path: "\(directory)/\(record.id)-json.log")
    }

    var record: ContainerRecord { state.withLock { $0.record } }

    var name: String { state.withLock { $0.record.name } }

    var isRunning: Bool { state.withLock { $0.record.state.Running } }

    var logPath: String { log.path }

    /// Changes the record and writes it to disk atomically.
    @discardableResult
    func update<T>(_ body: (inout ContainerRecord) -> T) throws -> T {
        let (result, snapshot) = state.withLock { state in
            let result = body(&state.record)
            state.revision += 1
            return (result, state.record)
        }
        try save(snapshot)
        return result
    }

    func save() throws { try save(record) }

    private func save(_ record: ContainerRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try FileSystem.writeAtomically("\(directory)/config.v2.json", Array(try encoder.encode(record)))
    }

    /// Registers for the next exit of the container's process, at once; awaiting the result
    /// returns the exit code.
    func nextExit() -> ExitTicket {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        exitWaiters.withLock { $0.append(continuation) }
        return ExitTicket(stream: stream)
    }

    /// Waits for the next exit of the container's process and returns its exit code.
    func waitForExit() async -> Int32 {
        await nextExit().code()
    }

    /// Wakes everyone waiting for the process to exit, and closes the process's stdin.
    func notifyExit(_ code: Int32) {
        input.withLock { input in
            input?.close()
            input = nil
        }
        let waiters = exitWaiters.withLock { waiters in
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiters {
            waiter.yield(code)
            waiter.finish()
        }
    }

    /// Registers for the container's removal, at once; the stream ends when it is removed.
    func removal() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        removalWaiters.withLock { $0.append(continuation) }
        return stream
    }

    func notifyRemoval() {
        let waiters = removalWaiters.withLock { waiters in
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiters { waiter.finish() }
    }

    /// Returns the JSON of the container's entry in `GET /containers/json`, made by `encode`
    /// from the record, the status text and the image to show (`image` reads the record). The
    /// entry is reused until one of them changes, so that a listing encodes only the
    /// containers that changed since the one before.
    func listEntry(
        image: (ContainerRecord) -> String, _ encode: (ContainerRecord, String, String) throws -> [UInt8]
    ) rethrows -> [UInt8] {
        let (record, revision) = state.withLock { ($0.record, $0.revision) }
        let status = Self.statusText(record)
        let listedImage = image(record)
        if let cached = listEntryCache.withLock({ $0 }), cached.revision == revision, cached.status == status,
            cached.image == listedImage
        {
            return cached.json
        }
        let json = try encode(record, status, listedImage)
        listEntryCache.withLock { cache in
            // A listing that read an older record must not replace a newer entry.
            if (cache?.revision ?? 0) <= revision { cache = (revision, status, listedImage, json) }
        }
        return json
    }

    /// The short status text of `docker ps`, such as `Up 3 seconds` or `Exited (0) 1 minute ago`.
    var statusText: String { Self.statusText(record) }

    private static func statusText(_ record: ContainerRecord) -> String {
        let now = Date()
        switch record.state.Status {
        case "running", "paused":
            let up = "Up \(humanDuration(now.timeIntervalSince(parseTimestamp(record.state.StartedAt) ?? now)))"
            return record.state.Paused ? up + " (Paused)" : up
        case "restarting":
            let finished = parseTimestamp(record.state.FinishedAt) ?? now
            let ago = humanDuration(now.timeIntervalSince(finished))
            return "Restarting (\(record.state.ExitCode)) \(ago) ago"
        case "exited":
            let ago = humanDuration(now.timeIntervalSince(parseTimestamp(record.state.FinishedAt) ?? now))
            return "Exited (\(record.state.ExitCode)) \(ago) ago"
        default:
            return "Created"
        }
    }
}

/// The daemon's end of a running process's input: the write end of its stdin pipe, or a
/// duplicate of its pty master, which also takes window sizes.
final class ProcessInput: Sendable {
    /// Serialises writes with `close`, so that a write never reaches a reused descriptor.
    private let fd: Mutex<Int32>
    let isTerminal: Bool
    /// Runs after the first `close`: the monitor keeps a duplicate of a stdin pipe, which it
    /// must close too before the process reads end of file.
    private let onClose: (@Sendable () -> Void)?

    /// Takes ownership of `fd`.
    init(fd: Int32, isTerminal: Bool, onClose: (@Sendable () -> Void)? = nil) {
        self.fd = Mutex(fd)
        self.isTerminal = isTerminal
        self.onClose = onClose
    }

    deinit { close() }

    /// Writes all of `bytes`; blocks while the pipe or terminal is full.
    ///
    /// - Throws: `SystemCallError` from `write` (`EPIPE` once the process has gone), `EBADF`
    ///   after `close`.
    func write(_ bytes: [UInt8]) throws {
        try fd.withLock { fd in
            guard fd >= 0 else {
                throw SystemCallError(call: "write", subject: "container stdin", errno: EBADF)
            }
            try FileSystem.writeAll(fd, bytes, subject: "container stdin")
        }
    }

    /// Sets the terminal's window size; does nothing without a terminal.
    ///
    /// - Throws: `SystemCallError` from `ioctl(TIOCSWINSZ)`.
    func resize(rows: UInt16, columns: UInt16) throws {
        guard isTerminal else { return }
        try fd.withLock { fd in
            if fd >= 0 { try ExecDriver.resize(terminal: fd, rows: rows, columns: columns) }
        }
    }

    /// Closes the descriptor: the process reads end of file (a pipe), or nothing changes for a
    /// terminal until the pump closes the master too. Later calls do nothing.
    func close() {
        let closed = fd.withLock { fd -> Bool in
            guard fd >= 0 else { return false }
            Glibc.close(fd)
            fd = -1
            return true
        }
        if closed { onClose?() }
    }
}

/// A registration for a container's next exit.
struct ExitTicket: Sendable {
    let stream: AsyncStream<Int32>

    /// Waits for the exit and returns its code (-1 if the waiters were dropped without one).
    func code() async -> Int32 {
        for await code in stream { return code }
        return -1
    }
}

/// Fans a container's output out to attached clients as it is produced.
final class OutputBroadcast: Sendable {
    /// One piece of output, or the end of the output of the current run.
    enum Event: Sendable {
        case data(StreamFrame.Kind, [UInt8])
        case end
    }

    private let subscribers = Mutex<[UUID: AsyncStream<Event>.Continuation]>([:])

    /// Subscribes to output from now on; the stream finishes at the end of the current or next run.
    func subscribe() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .unbounded)
        let key = UUID()
        subscribers.withLock { $0[key] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: key) }
        }
        return stream
    }

    func publish(_ kind: StreamFrame.Kind, _ bytes: [UInt8]) {
        for continuation in subscribers.withLock({ Array($0.values) }) {
            continuation.yield(.data(kind, bytes))
        }
    }

    /// Ends every subscriber's stream.
    func finish() {
        let all = subscribers.withLock { subscribers in
            defer { subscribers.removeAll() }
            return Array(subscribers.values)
        }
        for continuation in all {
            continuation.yield(.end)
            continuation.finish()
        }
    }
}

/// Formats a time as RFC 3339 with milliseconds in UTC, as Docker writes timestamps.
/// The format style needs no ICU, whereas ISO8601DateFormatter loads CoreFoundation's formatter
/// and ICU's time zone data, about 3 MiB resident in the idle daemon.
func timestamp(_ date: Date = Date()) -> String {
    fractionalTimestampStyle.format(date)
}

/// Parses an RFC 3339 time, with or without fractional seconds, or returns nil.
/// A format style parses in about 2 µs here. A new ISO8601DateFormatter took about 300 µs,
/// which made `GET /containers/json` CPU-bound.
func parseTimestamp(_ text: String) -> Date? {
    if let date = try? fractionalTimestampStyle.parse(text) { return date }
    return try? wholeTimestampStyle.parse(text)
}

private let fractionalTimestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
private let wholeTimestampStyle = Date.ISO8601FormatStyle()
