import Dispatch
import Foundation
import Synchronization
import SwiftdAPI
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a container's stdout and stderr pipes, appends each chunk to its json-file log, and
/// publishes it to attached clients.
///
/// Reading happens on the `PipeReactor`'s thread, so no thread is held per container.
final class OutputPump: Sendable {
    private let tokens = Mutex<[UInt64]>([])
    private let openStreams = Mutex<Int>(0)
    private let log: ContainerLog?
    private let broadcast: OutputBroadcast
    /// Unfinished lines by stream, waiting for their newline.
    private let partial = Mutex<[UInt8: [UInt8]]>([:])
    private let finished = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Starts pumping `stdout` and `stderr` (read ends the pump now owns) into `log`, opened
    /// with `options`, or only to the broadcast when `log` is nil (an exec's output is not
    /// logged).
    convenience init(
        stdout: Int32, stderr: Int32, log: ContainerLog?, options: LogOptions = LogOptions(),
        broadcast: OutputBroadcast, id: String
    ) throws {
        try self.init(
            streams: [(stdout, .stdout), (stderr, .stderr)], log: log, options: options,
            broadcast: broadcast, id: id)
    }

    /// Starts pumping a pty master (which the pump now owns) as the stdout stream: a terminal
    /// merges stdout and stderr. The pump ends when the read fails with `EIO`, once the last
    /// process holding the terminal's slave side has gone.
    convenience init(
        terminal: Int32, log: ContainerLog?, options: LogOptions = LogOptions(),
        broadcast: OutputBroadcast, id: String
    ) throws {
        try self.init(
            streams: [(terminal, .stdout)], log: log, options: options, broadcast: broadcast, id: id)
    }

    private init(
        streams: [(Int32, StreamFrame.Kind)], log: ContainerLog?, options: LogOptions,
        broadcast: OutputBroadcast, id: String
    ) throws {
        try log?.open(options)
        self.log = log
        self.broadcast = broadcast
        openStreams.withLock { $0 = streams.count }
        for (index, (fd, kind)) in streams.enumerated() {
            let handler = PipeReactor.Handler(
                data: { [weak self] chunk in self?.deliver(kind, chunk) },
                end: { [weak self] in
                    if let self, self.log != nil { self.flushPartial(kind) }
                    self?.closedOne()
                })
            do {
                let token = try PipeReactor.shared.add(fd, handler)
                tokens.withLock { $0.append(token) }
            } catch {
                // The streams not added yet are still the caller's to close.
                for (rest, _) in streams[(index + 1)...] { close(rest) }
                close(fd)
                cancel()
                throw error
            }
        }
    }

    private func deliver(_ kind: StreamFrame.Kind, _ chunk: [UInt8]) {
        if let log { writeLog(log, kind, chunk) }
        broadcast.publish(kind, chunk)
    }

    /// Appends one json-file log entry per line of output, as Docker's json-file driver does.
    ///
    /// A line without its newline yet waits in `partial` for the rest, up to 16 KiB (dockerd's
    /// limit too), so that a line read in two pieces is still one entry.
    private func writeLog(_ log: ContainerLog, _ kind: StreamFrame.Kind, _ chunk: [UInt8]) {
        let time = LogTime.format(LogTime.now())
        var bytes = partial.withLock { partial in
            defer { partial[kind.rawValue] = [] }
            return partial[kind.rawValue, default: []]
        }
        bytes += chunk
        var entries: [[UInt8]] = []
        var start = 0
        for index in bytes.indices where bytes[index] == 10 {
            entries.append(Self.entry(kind, bytes[start...index], time))
            start = index + 1
        }
        if start < bytes.count {
            if bytes.count - start < Self.maxPartialLine {
                partial.withLock { $0[kind.rawValue] = Array(bytes[start...]) }
            } else {
                entries.append(Self.entry(kind, bytes[start...], time))
            }
        }
        if !entries.isEmpty { log.append(entries) }
    }

    /// Writes what is left of an unfinished line when its stream ends.
    private func flushPartial(_ kind: StreamFrame.Kind) {
        let rest = partial.withLock { partial in
            defer { partial[kind.rawValue] = [] }
            return partial[kind.rawValue, default: []]
        }
        guard !rest.isEmpty, let log else { return }
        log.append([Self.entry(kind, rest[...], LogTime.format(LogTime.now()))])
    }

    /// One json-file line: `{"log":…,"stream":…,"time":…}` and a newline.
    private static func entry(_ kind: StreamFrame.Kind, _ bytes: ArraySlice<UInt8>, _ time: String) -> [UInt8] {
        let stream = kind == .stderr ? "stderr" : "stdout"
        let line = String(decoding: bytes, as: UTF8.self)
        return Array("{\"log\":\(jsonString(line)),\"stream\":\"\(stream)\",\"time\":\"\(time)\"}\n".utf8)
    }

    static let maxPartialLine = 16 * 1024

    private func closedOne() {
        let remaining = openStreams.withLock { count -> Int in
            count -= 1
            return count
        }
        guard remaining == 0 else { return }
        log?.close()
        broadcast.finish()
        let waiters = finished.withLock { state in
            state.done = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until both pipes reached end of file and the log is closed.
    func waitUntilDrained() async {
        await withCheckedContinuation { continuation in
            let done = finished.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Stops reading even if writers remain, for a process that left its pipes open elsewhere.
    func cancel() {
        for token in tokens.withLock({ $0 }) { PipeReactor.shared.remove(token) }
    }
}
