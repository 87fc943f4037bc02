import Synchronization
import Testing

@testable import SwiftdEngine

@Suite("Engine")
struct EngineTests {
    @Test("runs a registered handler with its arguments and environment")
    func runsHandler() async throws {
        let engine = Engine()
        try engine.register("echo") { job in
            try await job.stdout.write(job.arguments.joined(separator: ","))
            try await job.stdout.write("|" + (job.environment["greeting"] ?? ""))
        }
        let job = engine.job("echo", ["a", "b"], environment: ["greeting": "hi"])
        let status = await job.run()
        #expect(status == .ok)
        #expect(String(decoding: job.stdout.bytes, as: UTF8.self) == "a,b|hi")
        #expect(job.error == nil)
    }

    @Test("a thrown error makes the status 1 and is kept")
    func handlerError() async throws {
        struct Failure: Error {}
        let engine = Engine()
        try engine.register("fail") { _ in throw Failure() }
        let job = engine.job("fail")
        #expect(await job.run() == .error)
        #expect(job.error is Failure)
    }

    @Test("an unknown job has status 127")
    func unknownJob() async {
        let engine = Engine()
        let job = engine.job("nosuchjob")
        #expect(await job.run() == .notFound)
        #expect(job.error as? EngineError == .noSuchJob("nosuchjob"))
    }

    @Test("the catch-all handler runs unknown jobs")
    func catchAll() async throws {
        let engine = Engine()
        engine.registerCatchAll { job in try await job.stdout.write("caught \(job.name)") }
        let job = engine.job("anything")
        #expect(await job.run() == .ok)
        #expect(String(decoding: job.stdout.bytes, as: UTF8.self) == "caught anything")
    }

    @Test("a duplicate registration is rejected")
    func duplicateRegistration() throws {
        let engine = Engine()
        try engine.register("x") { _ in }
        #expect(throws: EngineError.alreadyRegistered("x")) { try engine.register("x") { _ in } }
    }

    @Test("the commands job lists every handler")
    func commandsJob() async throws {
        let engine = Engine()
        try engine.register("zeta") { _ in }
        try engine.register("alpha") { _ in }
        let job = engine.job("commands")
        #expect(await job.run() == .ok)
        #expect(String(decoding: job.stdout.bytes, as: UTF8.self) == "alpha\ncommands\nzeta\n")
    }

    @Test("a job runs only once")
    func runsOnce() async throws {
        let engine = Engine()
        let count = Mutex(0)
        try engine.register("count") { _ in count.withLock { $0 += 1 } }
        let job = engine.job("count")
        #expect(await job.run() == .ok)
        #expect(await job.run() == .error)
        #expect(job.error as? EngineError == .alreadyRun("count"))
        #expect(count.withLock { $0 } == 1)
    }

    @Test("the trace has a start line and an end line with the status")
    func trace() async throws {
        let lines = Mutex<[String]>([])
        let engine = Engine(trace: { line in lines.withLock { $0.append(line) } })
        try engine.register("ok") { _ in }
        try engine.register("bad") { _ in throw EngineError.shutdown }
        await engine.job("ok", ["1"]).run()
        await engine.job("bad").run()
        let trace = lines.withLock { $0 }
        #expect(trace.count == 4)
        #expect(trace[0] == "+job ok(1)")
        #expect(trace[1].hasPrefix("-job ok(1) = OK (0)"))
        #expect(trace[2] == "+job bad()")
        #expect(trace[3].hasPrefix("-job bad() = ERR (1)"))
    }

    @Test("jobs started while tracing is off leave no trace and keep their status")
    func traceOff() async throws {
        let lines = Mutex<[String]>([])
        let tracing = Atomic<Bool>(false)
        let engine = Engine(
            isTracing: { tracing.load(ordering: .relaxed) }, trace: { line in lines.withLock { $0.append(line) } })
        try engine.register("bad") { _ in throw EngineError.shutdown }
        let quiet = engine.job("bad")
        #expect(await quiet.run() == .error)
        #expect(quiet.error as? EngineError == .shutdown)
        #expect(lines.withLock { $0 }.isEmpty)
        tracing.store(true, ordering: .relaxed)
        await engine.job("bad").run()
        #expect(lines.withLock { $0 }.count == 2)
    }

    @Test("after shutdown new jobs fail with engine is shutdown")
    func shutdownRejectsJobs() async throws {
        let engine = Engine(jobGrace: .milliseconds(100), handlerGrace: .milliseconds(100))
        try engine.register("x") { _ in }
        await engine.shutdown()
        let job = engine.job("x")
        #expect(await job.run() == .error)
        #expect(job.error as? EngineError == .shutdown)
        #expect("\(EngineError.shutdown)" == "engine is shutdown")
    }

    @Test("shutdown waits for running jobs, then runs shutdown handlers")
    func shutdownOrder() async throws {
        let events = Mutex<[String]>([])
        let engine = Engine(jobGrace: .seconds(5), handlerGrace: .seconds(5))
        try engine.register("slow") { _ in
            try await Task.sleep(for: .milliseconds(200))
            events.withLock { $0.append("job done") }
        }
        engine.onShutdown { events.withLock { $0.append("handler ran") } }
        let job = engine.job("slow")
        let running = Task { await job.run() }
        while engine.runningJobs().isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        await engine.shutdown()
        #expect(events.withLock { $0 } == ["job done", "handler ran"])
        #expect(await running.value == .ok)
    }

    @Test("shutdown gives up on a job that never finishes after the grace period")
    func shutdownGracePeriod() async throws {
        let engine = Engine(jobGrace: .milliseconds(200), handlerGrace: .milliseconds(200))
        try engine.register("forever") { _ in
            while true { try await Task.sleep(for: .seconds(60)) }
        }
        engine.onShutdown { while true { try? await Task.sleep(for: .seconds(60)) } }
        let job = engine.job("forever")
        let running = Task { await job.run() }
        while engine.runningJobs().isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        let clock = ContinuousClock()
        let elapsed = await clock.measure { await engine.shutdown() }
        // Both grace periods pass, and shutdown returns although nothing finished.
        #expect(elapsed >= .milliseconds(400))
        #expect(engine.isShutdown)
        running.cancel()
    }
}
