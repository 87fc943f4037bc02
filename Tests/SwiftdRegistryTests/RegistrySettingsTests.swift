import SwiftdGraph
@testable import SwiftdRegistry
import Testing

/// Mirror ordering and reloadable settings; nothing here touches the network.
@Suite("registry settings")
struct RegistrySettingsTests {
    @Test("Docker Hub names try mirrors first")
    func hubNamesUseMirrors() throws {
        let reference = try Reference(parsing: "swiftdmirrortest")
        let hosts = RegistrySettings.pullHosts(
            for: reference,
            mirrors: ["http://127.0.0.1:9", "https://mirror.example:5000", "plain.example"])
        // When every mirror fails, the pull falls through to Docker Hub, last.
        #expect(hosts == ["127.0.0.1:9", "mirror.example:5000", "plain.example", "docker.io"])
    }

    @Test("other registries skip mirrors")
    func otherRegistriesSkipMirrors() throws {
        let reference = try Reference(parsing: "127.0.0.1:5000/team/app:v1")
        let hosts = RegistrySettings.pullHosts(for: reference, mirrors: ["http://127.0.0.1:9"])
        #expect(hosts == ["127.0.0.1:5000"])
    }

    @Test("invalid mirror URLs are skipped")
    func invalidMirrorsSkipped() throws {
        let reference = try Reference(parsing: "docker.io/library/busybox")
        let hosts = RegistrySettings.pullHosts(for: reference, mirrors: ["http://", ""])
        #expect(hosts == ["docker.io"])
    }

    @Test("replace reports changes")
    func replaceReportsChanges() {
        let settings = RegistrySettings()
        #expect(settings.values.mirrors.isEmpty)
        let values = RegistrySettings.Values(
            mirrors: ["http://127.0.0.1:9"], insecureRegistries: ["10.0.0.0/8"])
        #expect(settings.replace(with: values))
        #expect(!settings.replace(with: values))
        #expect(settings.values == values)
        #expect(settings.options().isInsecure("10.1.2.3:5000"))
        #expect(!settings.options().isInsecure("192.0.2.1:5000"))
    }
}
