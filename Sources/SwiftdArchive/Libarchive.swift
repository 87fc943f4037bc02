import CArchive
import SwiftdSystem

/// libarchive's functions, from the library that `swd_libarchive` loads on first use. Reading
/// it ends the process with exit 127 if libarchive cannot be loaded, so each function that
/// creates a libarchive object calls `requireLibarchive()` first.
let libarchive = swd_libarchive().pointee

/// Loads libarchive if needed.
/// - Throws: `LibraryLoadError` with the loader's message when libarchive cannot be loaded.
func requireLibarchive() throws {
    if let message = swd_libarchive_load_error() {
        throw LibraryLoadError(library: "libarchive", reason: String(cString: message))
    }
}

/// A C library that swiftd loads on first use could not be loaded: a broken installation.
public struct LibraryLoadError: ClassifiedError {
    /// The library, such as "libarchive".
    public var library: String
    /// The dynamic loader's message.
    public var reason: String

    public var kind: ErrorKind { .internalError }
    public var message: String { "cannot load \(library): \(reason)" }
}
