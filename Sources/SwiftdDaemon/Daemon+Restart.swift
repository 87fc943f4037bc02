import Foundation
import SwiftdAPI
import SwiftdExec
import SwiftdSystem

/// A container's restart back-off in this daemon run, and the restart waiting for it.
struct RestartState: Sendable {
    /// The delay before the next automatic restart; 0 until the first.
    var delay: Duration = .zero
    /// The pending restart, cancelled by `docker stop`, `rm` and manual starts.
    var pending: Task<Void, Never>?
}

extension Daemon {
    /// The first back-off delay, doubled for each restart in a row, as dockerd's restart manager
    /// does (`restartmanager.go`: 100 ms, doubling, at most a minute).
    static let firstRestartDelay = Duration.milliseconds(100)
    static let maximumRestartDelay = Duration.seconds(60)
    /// A run at least this long resets the back-off.
    static let restartResetTime: TimeInterval = 10

    /// Checks `--restart` as dockerd does: a known name, a non-negative retry count that only
    /// `on-failure` takes, and no restart policy together with `--rm`.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` naming the problem.
    func validateRestartPolicy(_ hostConfig: HostConfig) throws {
        guard let policy = hostConfig.RestartPolicy else { return }
        let name = policy.Name ?? ""
        guard ["", "no", "always", "on-failure", "unless-stopped"].contains(name) else {
            throw SwiftdError(.invalidArgument, "invalid restart policy '\(name)'")
        }
        let retries = policy.MaximumRetryCount ?? 0
        if retries < 0 {
            throw SwiftdError(
                .invalidArgument, "invalid restart policy: maximum retry count can't be negative")
        }
        if retries > 0 && name != "on-failure" {
            throw SwiftdError(
                .invalidArgument,
                "invalid restart policy: maximum retry count can only be used with 'on-failure'")
        }
        if hostConfig.AutoRemove == true && !["", "no"].contains(name) {
            throw SwiftdError(
                .invalidArgument,
                "conflicting options: cannot specify both --restart and --rm")
        }
    }

    /// Whether the container's policy restarts it after an exit with `exitCode`, given the
    /// restarts so far. A container stopped by the user is never restarted.
    func shouldRestart(_ record: ContainerRecord, exitCode: Int32) -> Bool {
        if record.manuallyStopped == true { return false }
        let policy = record.hostConfig.RestartPolicy
        switch policy?.Name ?? "" {
        case "always", "unless-stopped":
            return true
        case "on-failure":
            let limit = policy?.MaximumRetryCount ?? 0
            return exitCode != 0 && (limit == 0 || (record.restartCount ?? 0) < limit)
        default:
            return false
        }
    }

    /// After the container's process exited: if its policy says so, marks it restarting and
    /// starts it again after the back-off delay. Does nothing while the daemon shuts down.
    func scheduleRestart(_ container: Container, exitCode: Int32) {
        let record = container.record
        guard !engine.isShutdown, shouldRestart(record, exitCode: exitCode) else { return }
        let ranFor = Date().timeIntervalSince(parseTimestamp(record.state.StartedAt) ?? Date())
        let delay = container.restartState.withLock { state -> Duration in
            if ranFor >= Self.restartResetTime || state.delay == .zero {
                state.delay = Self.firstRestartDelay
            } else {
                state.delay = min(state.delay * 2, Self.maximumRestartDelay)
            }
            return state.delay
        }
        try? container.update { record in
            record.state.Restarting = true
            record.state.Status = "restarting"
        }
        let task = Task { [self] in
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled, !engine.isShutdown, !container.isRunning,
                container.record.manuallyStopped != true, (try? self.container(container.id)) != nil
            else {
                try? container.update { record in
                    if record.state.Restarting && !record.state.Running {
                        record.state.Restarting = false
                        record.state.Status = "exited"
                    }
                }
                return
            }
            try? container.update { record in
                record.restartCount = (record.restartCount ?? 0) + 1
                record.state.Restarting = false
            }
            do {
                try await start(container)
                emit(container, "restart")
            } catch {
                log.error(
                    "restarting a container failed",
                    [("id", container.id), ("error", "\(error)")])
                // A failed start is an exit too: the policy decides again.
                let code = container.record.state.ExitCode
                scheduleRestart(container, exitCode: code == 0 ? 128 : code)
            }
        }
        container.restartState.withLock { $0.pending = task }
    }

    /// `docker stop`, `rm`: ends the restart policy until the next manual start, and cancels a
    /// restart waiting for its back-off.
    func endRestartPolicy(_ container: Container) {
        let pending = container.restartState.withLock { state in
            defer { state.pending = nil }
            return state.pending
        }
        pending?.cancel()
        try? container.update { record in
            record.manuallyStopped = true
            if record.state.Restarting && !record.state.Running {
                record.state.Restarting = false
                record.state.Status = "exited"
            }
        }
    }

    /// A manual `docker start` or `restart`: the policy applies again, from a restart count of
    /// 0 and the first back-off delay.
    func resetRestartPolicy(_ container: Container) {
        let pending = container.restartState.withLock { state in
            defer { state = RestartState() }
            return state.pending
        }
        pending?.cancel()
        try? container.update { record in
            record.manuallyStopped = false
            record.restartCount = 0
        }
    }

    /// At daemon start: restarts the containers whose policy applies to how they last exited
    /// (`always`, `unless-stopped` unless stopped by the user, `on-failure` after a failure).
    func applyRestartPoliciesAtStart() {
        let reattached = reattachedAtStart.withLock { $0 }
        // A container taken back gets its restart policy from its exit, when the monitor
        // reports it, even if that exit happened while no daemon ran.
        for container in allContainers() where !container.isRunning && !reattached.contains(container.id) {
            let record = container.record
            guard record.state.Status != "created",
                shouldRestart(record, exitCode: record.state.ExitCode)
            else { continue }
            Task { [self] in
                do {
                    try await start(container)
                } catch {
                    log.error(
                        "restarting a container at daemon start failed",
                        [("id", container.id), ("error", "\(error)")])
                }
            }
        }
    }
}
