import Synchronization

/// One run of a named handler: its arguments, environment, streams and resulting status.
public final class Job: Sendable {
    /// The outcome of a job, as the process-style codes of the Docker 1.2 engine.
    public enum Status: Int32, Sendable {
        case ok = 0
        case error = 1
        case notFound = 127
    }

    public let name: String
    public let arguments: [String]
    public let environment: JobEnvironment
    /// What the handler produces: a response body, or a stream to the client.
    public let stdout: JobOutput
    /// Progress and diagnostics that are not the result.
    public let stderr: JobOutput
    /// What the client sends, such as an archive body or an attached terminal's input.
    public let stdin: JobInput

    private let engine: Engine
    private let outcome = Mutex<(ran: Bool, status: Status?, error: (any Error & Sendable)?)>(
        (false, nil, nil))

    init(engine: Engine, name: String, arguments: [String], environment: [String: String]) {
        self.engine = engine
        self.name = name
        self.arguments = arguments
        self.environment = JobEnvironment(environment)
        self.stdout = JobOutput()
        self.stderr = JobOutput()
        self.stdin = JobInput()
    }

    /// The status of the finished job, or nil before it has run.
    public var status: Status? { outcome.withLock { $0.status } }

    /// The error that ended the job, if any: the handler's own error or an `EngineError`.
    public var error: (any Error & Sendable)? { outcome.withLock { $0.error } }

    /// Runs the handler, traces the job, and returns its status.
    ///
    /// A job runs once; the engine's shutdown makes new jobs fail with `EngineError.shutdown`.
    @discardableResult
    public func run() async -> Status {
        let alreadyRan = outcome.withLock { outcome -> Bool in
            if outcome.ran { return true }
            outcome.ran = true
            return false
        }
        if alreadyRan { return finish(.error, EngineError.alreadyRun(name)) }
        guard let (number, handler) = engine.begin(name) else {
            return finish(.error, EngineError.shutdown)
        }
        defer { engine.end(number) }
        guard let handler else { return finish(.notFound, EngineError.noSuchJob(name)) }

        guard engine.isTracing() else {
            do {
                try await handler(self)
                return finish(.ok, nil)
            } catch {
                return finish(.error, error)
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        engine.trace("+job \(description)")
        do {
            try await handler(self)
            engine.trace("-job \(description) = OK (0) took=\(clock.now - start)")
            return finish(.ok, nil)
        } catch {
            engine.trace("-job \(description) = ERR (1) took=\(clock.now - start) error=\"\(error)\"")
            return finish(.error, error)
        }
    }

    /// Runs the job and throws its error, for callers that want Swift error handling.
    public func runOrThrow() async throws {
        if await run() != .ok, let error { throw error }
    }

    private func finish(_ status: Status, _ error: (any Error & Sendable)?) -> Status {
        outcome.withLock {
            $0.status = status
            $0.error = error
        }
        return status
    }

    /// The trace form, `name(arg1, arg2)`.
    public var description: String { "\(name)(\(arguments.joined(separator: ", ")))" }
}

/// A job's environment: string values with typed accessors.
public final class JobEnvironment: Sendable {
    private let values: Mutex<[String: String]>

    init(_ values: [String: String]) { self.values = Mutex(values) }

    public subscript(key: String) -> String? {
        get { values.withLock { $0[key] } }
        set { values.withLock { $0[key] = newValue } }
    }

    /// Reads a boolean the way Docker's API reads query flags: `1`, `true` and `True` are true.
    public func bool(_ key: String) -> Bool {
        guard let value = self[key] else { return false }
        return ["1", "true", "True", "TRUE", "yes"].contains(value)
    }

    /// Reads an integer, or nil when absent or not a number.
    public func int(_ key: String) -> Int? { self[key].flatMap { Int($0) } }

    /// All keys and values.
    public var all: [String: String] { values.withLock { $0 } }
}

/// A job's output: collected in memory, or forwarded to a sink as it is written.
public final class JobOutput: Sendable {
    public typealias Sink = @Sendable ([UInt8]) async throws -> Void
    private let state = Mutex<(buffer: [UInt8], sink: Sink?)>(([], nil))

    init() {}

    /// Sends further writes to `sink` instead of the buffer.
    public func attach(_ sink: @escaping Sink) {
        state.withLock { $0.sink = sink }
    }

    /// Writes bytes to the sink, or appends them to the buffer when there is none.
    public func write(_ bytes: [UInt8]) async throws {
        let sink = state.withLock { state -> Sink? in
            if state.sink == nil { state.buffer.append(contentsOf: bytes) }
            return state.sink
        }
        if let sink { try await sink(bytes) }
    }

    /// Writes a string as UTF-8.
    public func write(_ text: String) async throws { try await write(Array(text.utf8)) }

    /// Everything written while no sink was attached.
    public var bytes: [UInt8] { state.withLock { $0.buffer } }

    /// Reports whether a sink is attached, so handlers can choose to stream.
    public var isStreaming: Bool { state.withLock { $0.sink != nil } }
}

/// A job's input: a source of byte chunks that ends with nil.
public final class JobInput: Sendable {
    public typealias Source = @Sendable () async throws -> [UInt8]?
    private let source = Mutex<Source?>(nil)

    init() {}

    /// Sets where `read()` takes its chunks from.
    public func attach(_ source: @escaping Source) {
        self.source.withLock { $0 = source }
    }

    /// Reads the next chunk, or nil at the end of input (or when nothing is attached).
    public func read() async throws -> [UInt8]? {
        guard let source = source.withLock({ $0 }) else { return nil }
        return try await source()
    }
}
