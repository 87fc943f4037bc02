import Foundation
import SwiftdGraph
import Synchronization

/// The daemon's registry settings that a reload (SIGHUP) may replace while pulls run: the
/// Docker Hub mirrors (`--registry-mirror`) and the insecure registries
/// (`--insecure-registry`). Each pull or push reads them once when it starts.
public final class RegistrySettings: Sendable {
    /// One consistent set of the settings.
    public struct Values: Sendable, Equatable {
        /// Mirror URLs (`https://mirror.example:5000`), tried in order before Docker Hub.
        public var mirrors: [String]
        /// `host[:port]` names or CIDR ranges reached over plain HTTP or unverified TLS.
        public var insecureRegistries: [String]

        public init(mirrors: [String] = [], insecureRegistries: [String] = []) {
            self.mirrors = mirrors
            self.insecureRegistries = insecureRegistries
        }
    }

    private let current: Mutex<Values>

    public init(_ values: Values = Values()) {
        current = Mutex(values)
    }

    /// The settings now in force.
    public var values: Values { current.withLock { $0 } }

    /// Replaces the settings; pulls and pushes already running keep the ones they started with.
    /// Returns whether anything changed.
    @discardableResult
    public func replace(with values: Values) -> Bool {
        current.withLock { held in
            defer { held = values }
            return held != values
        }
    }

    /// Returns the connection options of the current settings.
    public func options(certificatesDirectory: String = "/etc/swiftd/certs.d") -> RegistryOptions {
        RegistryOptions(
            insecureRegistries: values.insecureRegistries,
            certificatesDirectory: certificatesDirectory)
    }

    /// Returns the registry hosts to pull `reference` from, in order: the mirrors first for a
    /// Docker Hub name (`docker.io/…`), then the reference's own registry. Other registries
    /// get no mirrors, as with dockerd. Mirrors that are not valid URLs are skipped.
    public func pullHosts(for reference: Reference) -> [String] {
        Self.pullHosts(for: reference, mirrors: values.mirrors)
    }

    /// Returns the hosts of `pullHosts(for:)` with the mirror URLs `mirrors`.
    public static func pullHosts(for reference: Reference, mirrors: [String]) -> [String] {
        let host = ImagePuller.registryHost(of: reference)
        guard host == "docker.io" else { return [host] }
        return mirrors.compactMap(mirrorHost) + [host]
    }

    /// Returns the `host[:port]` of a mirror URL. A URL without a scheme means https.
    public static func mirrorHost(_ mirror: String) -> String? {
        let url = URL(string: mirror.contains("://") ? mirror : "https://" + mirror)
        guard let url, let name = url.host, !name.isEmpty else { return nil }
        let bracketed = name.contains(":") && !name.hasPrefix("[") ? "[\(name)]" : name
        return url.port.map { "\(bracketed):\($0)" } ?? bracketed
    }
}
