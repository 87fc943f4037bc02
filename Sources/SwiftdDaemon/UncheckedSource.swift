import Dispatch

/// A Dispatch source kept in a lock-protected list.
struct UncheckedSource: @unchecked Sendable {
    // Safe because: Dispatch sources may be resumed and cancelled from any thread.
    let source: any DispatchSourceProtocol
}
