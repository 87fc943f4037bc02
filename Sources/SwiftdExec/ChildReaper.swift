import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The one owner of this process's child exit statuses.
///
/// Contract: every child of the daemon is reaped here, by a dedicated thread (never a pool
/// thread) that waits for any child. Nothing else in the process may call `waitpid`/`waitid`
/// on a child or use `Foundation.Process`, whose own wait would race with this one. Whoever
/// starts a child calls `childStarted()` afterwards (the thread sleeps while there is none),
/// and collects the status with `exitStatus(of:)`, which claims it: a status is handed out
/// once. The reaper keeps the status of a child that exits before any caller waits, until claimed.
public final class ChildReaper: Sendable {
    /// The process-wide reaper; its thread starts on first use.
    public static let shared = ChildReaper()

    private enum Waiter: Sendable {
        case task(CheckedContinuation<Int32?, Never>)
        case blocking(BlockingSlot)
    }

    private final class BlockingSlot: Sendable {
        let semaphore = DispatchSemaphore(value: 0)
        let status = Mutex<Int32>(0)
    }

    private struct State: ~Copyable {
        /// Raw wait statuses of reaped children that no caller has claimed yet.
        var statuses: [Int32: Int32] = [:]
        /// Callers waiting for a child that has not exited yet.
        var waiters: [Int32: [Waiter]] = [:]
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in run() }
        thread.name = "swiftd-reaper"
        thread.start()
    }

    /// Tells the reaper thread that a child exists, in case it sleeps for lack of one.
    public func childStarted() {
        wakeup.signal()
    }

    /// Waits, without blocking a thread, until child `pid` exits, and returns its raw wait
    /// status (decode with `ExitStatus(waitStatus:)`). Returns at once if it exited already.
    ///
    /// Returns nil if `pid` is not a child of this process or its status was claimed already.
    /// Several callers waiting at the same time all get the status.
    public func exitStatus(of pid: Int32) async -> Int32? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
            let ready: Int32?? = state.withLock { state in
                if let status = state.statuses.removeValue(forKey: pid) { return .some(status) }
                guard Self.isUnreapedChild(pid) else { return .some(nil) }
                state.waiters[pid, default: []].append(.task(continuation))
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Blocks the calling thread until child `pid` exits and returns its raw wait status, or
    /// nil if `pid` is not an unclaimed child. For cleanup paths of synchronous code.
    public func exitStatusBlocking(of pid: Int32) -> Int32? {
        let slot = BlockingSlot()
        let ready: Int32?? = state.withLock { state in
            if let status = state.statuses.removeValue(forKey: pid) { return .some(status) }
            guard Self.isUnreapedChild(pid) else { return .some(nil) }
            state.waiters[pid, default: []].append(.blocking(slot))
            return nil
        }
        if let ready { return ready }
        slot.semaphore.wait()
        return slot.status.withLock { $0 }
    }

    /// Forgets an unclaimed status of `pid`, which a new child is about to reuse.
    func discardStale(pid: Int32) {
        _ = state.withLock { $0.statuses.removeValue(forKey: pid) }
    }

    /// Checks whether `pid` is a child not yet reaped. Call it with the lock held, because
    /// reaping happens only under the lock.
    private static func isUnreapedChild(_ pid: Int32) -> Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0
    }

    private func run() {
        while true {
            // Wait without reaping, so that reaping and recording happen together under the
            // lock and a waiter never misses a status between the two.
            var info = siginfo_t()
            if waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0 {
                switch errno {
                case EINTR: continue
                case ECHILD: _ = wakeup.wait(timeout: .now() + .seconds(1))
                // waitid(2) lists only EINVAL otherwise; back off rather than spin on it.
                default: usleep(100_000)
                }
                continue
            }
            state.withLock { state in
                while true {
                    var status: Int32 = 0
                    let pid = waitpid(-1, &status, WNOHANG)
                    if pid <= 0 { break }
                    deliver(pid: pid, status: status, to: &state)
                }
            }
        }
    }

    private func deliver(pid: Int32, status: Int32, to state: inout State) {
        guard let waiters = state.waiters.removeValue(forKey: pid) else {
            state.statuses[pid] = status
            return
        }
        for waiter in waiters {
            switch waiter {
            case .task(let continuation):
                continuation.resume(returning: status)
            case .blocking(let slot):
                slot.status.withLock { $0 = status }
                slot.semaphore.signal()
            }
        }
    }
}
