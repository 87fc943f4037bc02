import Foundation
import Synchronization
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the output pipes and terminals of every container and exec on one thread of its own,
/// through an epoll set that swiftd owns.
///
/// Dispatch read sources are not used for this. On Linux, libdispatch can free its note for a
/// descriptor while an epoll event for it is still queued, when sources are added and
/// cancelled on many threads, and the daemon then crashed in `_dispatch_event_loop_drain`.
/// Here each registration is a number in a table, so an event for a descriptor that is
/// already gone finds no entry and is dropped.
final class PipeReactor: Sendable {
    /// Receives what a descriptor delivers, on the reactor's thread: data as it arrives, then
    /// once the end (end of file, `EIO` from a terminal, an error, or `remove`).
    struct Handler: Sendable {
        let data: @Sendable ([UInt8]) -> Void
        let end: @Sendable () -> Void
    }

    static let shared = PipeReactor()

    private let epoll: Epoll
    private let wake: Int32
    private let handlers = Mutex(Registrations())

    private struct Registrations {
        var next: UInt64 = 1
        var byToken: [UInt64: (fd: Int32, handler: Handler)] = [:]
        /// Tokens that `remove` asked to end; the reactor's thread ends them.
        var removals: [UInt64] = []
    }

    private init() {
        do {
            epoll = try Epoll()
            wake = try Epoll.makeEventDescriptor()
            try epoll.add(wake, token: 0)
        } catch {
            fatalError("the pipe reactor cannot start: \(error)")
        }
        let thread = Thread { [self] in run() }
        thread.name = "swiftd-pipes"
        thread.start()
    }

    /// Starts reading `fd`, which the reactor now owns and closes after `handler.end`.
    ///
    /// - Returns: the token that `remove` takes.
    /// - Throws: `SystemCallError` when the descriptor cannot be made non-blocking or added.
    @discardableResult
    func add(_ fd: Int32, _ handler: Handler) throws -> UInt64 {
        try Sockets.setNonBlocking(fd, true)
        let token = handlers.withLock { state -> UInt64 in
            let token = state.next
            state.next += 1
            state.byToken[token] = (fd, handler)
            return token
        }
        do {
            try epoll.add(fd, token: token)
        } catch {
            handlers.withLock { _ = $0.byToken.removeValue(forKey: token) }
            throw error
        }
        return token
    }

    /// Stops reading the registration `token` even if writers remain: its end handler runs
    /// on the reactor's thread, after any data already being delivered.
    func remove(_ token: UInt64) {
        handlers.withLock { $0.removals.append(token) }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count: Int
            do {
                count = try epoll.wait(into: &tokens)
            } catch {
                fatalError("the pipe reactor failed: \(error)")
            }
            for index in 0..<count {
                let token = tokens[index]
                if token == 0 {
                    var value: UInt64 = 0
                    _ = read(wake, &value, 8)
                    let ended = handlers.withLock { state in
                        defer { state.removals.removeAll() }
                        return state.removals
                    }
                    for token in ended { finish(token) }
                    continue
                }
                drain(token, &buffer)
            }
        }
    }

    /// Reads `token`'s descriptor until it would block; ends it at the end of its stream.
    private func drain(_ token: UInt64, _ buffer: inout [UInt8]) {
        guard let (fd, handler) = handlers.withLock({ $0.byToken[token] }) else { return }
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                handler.data(Array(buffer[0..<count]))
                continue
            }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
            finish(token)
            return
        }
    }

    /// Takes `token` out of the set, closes its descriptor and runs its end handler, once.
    private func finish(_ token: UInt64) {
        guard let (fd, handler) = handlers.withLock({ $0.byToken.removeValue(forKey: token) }) else {
            return
        }
        epoll.remove(fd)
        close(fd)
        handler.end()
    }
}
