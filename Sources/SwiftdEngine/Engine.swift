import Synchronization

/// The registry of named job handlers, and the gate that closes when the daemon shuts down.
///
/// Every request to the daemon becomes a `Job` run by name here: the API server never calls the
/// daemon directly, and handlers never see HTTP.
public final class Engine: Sendable {
    /// Runs a job; a thrown error makes the job's status `.error` and is kept in `Job.error`.
    public typealias Handler = @Sendable (Job) async throws -> Void

    private struct State {
        var handlers: [String: Handler] = [:]
        var catchAll: Handler?
        var shutdownHandlers: [@Sendable () async -> Void] = []
        var isShutdown = false
        var running: [UInt64: String] = [:]
        var nextJobNumber: UInt64 = 0
    }

    private let state = Mutex(State())
    private let shutdownDone = Mutex<ShutdownProgress>(.notStarted)
    /// Receives the `+job` and `-job` trace lines.
    let trace: @Sendable (String) -> Void
    /// Asked before each job whether its trace lines are wanted, so that a quiet daemon does
    /// not format two lines per API request.
    let isTracing: @Sendable () -> Bool
    /// How long `shutdown()` waits for running jobs, and then for shutdown handlers.
    let jobGrace: Duration
    let handlerGrace: Duration

    /// Creates an engine with the built-in `commands` job.
    ///
    /// - Parameters:
    ///   - jobGrace: the longest `shutdown()` waits for running jobs (5 s in the daemon).
    ///   - handlerGrace: the longest it waits for the shutdown handlers (10 s in the daemon).
    ///   - isTracing: whether a job that starts now is traced; read once per job.
    ///   - trace: receives one line when each traced job starts and one when it ends.
    public init(
        jobGrace: Duration = .seconds(5), handlerGrace: Duration = .seconds(10),
        isTracing: @escaping @Sendable () -> Bool = { true },
        trace: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.trace = trace
        self.isTracing = isTracing
        self.jobGrace = jobGrace
        self.handlerGrace = handlerGrace
        let commands: Handler = { [unowned self] job in
            let names = self.registeredNames()
            try await job.stdout.write(Array((names.joined(separator: "\n") + "\n").utf8))
        }
        state.withLock { $0.handlers["commands"] = commands }
    }

    /// Registers `handler` for jobs named `name`.
    ///
    /// - Throws: `EngineError.alreadyRegistered` when the name is taken.
    public func register(_ name: String, _ handler: @escaping Handler) throws(EngineError) {
        let added = state.withLock { state -> Bool in
            if state.handlers[name] != nil { return false }
            state.handlers[name] = handler
            return true
        }
        if !added { throw .alreadyRegistered(name) }
    }

    /// Sets the handler that runs jobs whose name has no handler of its own.
    public func registerCatchAll(_ handler: @escaping Handler) {
        state.withLock { $0.catchAll = handler }
    }

    /// Adds a handler that `shutdown()` runs, concurrently with the others.
    public func onShutdown(_ handler: @escaping @Sendable () async -> Void) {
        state.withLock { $0.shutdownHandlers.append(handler) }
    }

    /// The names of every registered handler, sorted.
    public func registeredNames() -> [String] {
        state.withLock { $0.handlers.keys.sorted() }
    }

    /// Reports whether a handler is registered under `name`.
    public func isRegistered(_ name: String) -> Bool {
        state.withLock { $0.handlers[name] != nil }
    }

    /// Creates a job that runs the handler named `name` when `run()` is called.
    public func job(
        _ name: String, _ arguments: [String] = [], environment: [String: String] = [:]
    ) -> Job {
        Job(engine: self, name: name, arguments: arguments, environment: environment)
    }

    /// Reports whether `shutdown()` has been called.
    public var isShutdown: Bool { state.withLock { $0.isShutdown } }

    /// The names of the jobs running now, for diagnostics.
    public func runningJobs() -> [String] {
        state.withLock { $0.running.sorted { $0.key < $1.key }.map(\.value) }
    }

    /// Looks up the handler for a job and marks it running, or returns nil once shut down.
    func begin(_ name: String) -> (number: UInt64, handler: Handler?)? {
        state.withLock { state in
            if state.isShutdown { return nil }
            state.nextJobNumber += 1
            state.running[state.nextJobNumber] = name
            return (state.nextJobNumber, state.handlers[name] ?? state.catchAll)
        }
    }

    func end(_ number: UInt64) {
        state.withLock { _ = $0.running.removeValue(forKey: number) }
    }

    /// Shuts the engine down: new jobs fail at once with "engine is shutdown", running jobs get
    /// up to `jobGrace` to finish, then the shutdown handlers run concurrently for up to
    /// `handlerGrace`. A second call waits for the first to finish.
    public func shutdown() async {
        let first = shutdownDone.withLock { progress -> Bool in
            if case .notStarted = progress {
                progress = .running
                return true
            }
            return false
        }
        if !first {
            while shutdownDone.withLock({ if case .finished = $0 { return false } else { return true } }) {
                try? await Task.sleep(for: .milliseconds(10))
            }
            return
        }
        let handlers = state.withLock { state in
            state.isShutdown = true
            return state.shutdownHandlers
        }

        // Give the running jobs their grace period.
        let clock = ContinuousClock()
        let jobDeadline = clock.now + jobGrace
        while clock.now < jobDeadline && !state.withLock({ $0.running.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(10))
        }

        // Run the shutdown handlers concurrently, and stop waiting for them at the deadline.
        let finished = CompletionFlag()
        Task {
            await withTaskGroup(of: Void.self) { group in
                for handler in handlers { group.addTask { await handler() } }
            }
            finished.set()
        }
        let handlerDeadline = clock.now + handlerGrace
        while clock.now < handlerDeadline && !finished.isSet {
            try? await Task.sleep(for: .milliseconds(10))
        }
        shutdownDone.withLock { $0 = .finished }
    }

    private enum ShutdownProgress {
        case notStarted, running, finished
    }
}

/// Failures of the engine itself, as opposed to failures of a job's handler.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A handler is already registered under this name.
    case alreadyRegistered(String)
    /// No handler is registered under this name, and there is no catch-all handler.
    case noSuchJob(String)
    /// The engine is shutting down and takes no new jobs.
    case shutdown
    /// The job has already run; a job runs once.
    case alreadyRun(String)

    public var description: String {
        switch self {
        case .alreadyRegistered(let name): "a handler is already registered for job \(name)"
        case .noSuchJob(let name): "no such job: \(name)"
        case .shutdown: "engine is shutdown"
        case .alreadyRun(let name): "job \(name) has already run"
        }
    }
}

/// A flag that one task sets and another polls.
private final class CompletionFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }

    var isSet: Bool { value.load(ordering: .acquiring) }
}
