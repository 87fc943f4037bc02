import SwiftdSystem

/// A tar archive that could not be read, or an entry that swiftd refuses to extract.
public struct ArchiveError: ClassifiedError, Equatable {
    /// `invalidArgument` for a malformed or hostile archive, `internalError` for a failure of
    /// the host (a full disk, a failed `mknod`).
    public var kind: ErrorKind
    /// The entry's name as stored in the archive, when the problem belongs to one entry.
    public var entry: String?
    /// The problem, such as "path leads outside the target directory".
    public var reason: String

    public init(_ kind: ErrorKind, entry: String? = nil, _ reason: String) {
        self.kind = kind
        self.entry = entry
        self.reason = reason
    }

    public var message: String {
        guard let entry else { return "invalid archive: \(reason)" }
        return "invalid archive entry \"\(entry)\": \(reason)"
    }

    static func hostile(_ entry: String, _ reason: String) -> ArchiveError {
        ArchiveError(.invalidArgument, entry: entry, reason)
    }
}
