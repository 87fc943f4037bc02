import CSwiftdSystem

/// The commit and time the binary was built from, set by `make` through the package manifest.
public enum BuildInfo {
    /// The short commit hash, or "unknown" in a plain `swift build`.
    public static let commit = String(cString: swd_git_commit())
    /// The commit's date in RFC 3339, or "" in a plain `swift build`.
    public static let buildTime = String(cString: swd_build_time())
}
