import Foundation
import SwiftdAPI
import SwiftdTLS

/// The client's global flags, given before the command: the daemon's address and the TLS
/// settings for a `tcp://` address, as the docker CLI has them.
struct GlobalOptions {
    var host: String
    var tls = false
    /// `--tlsverify`, or nil when the flag is absent (then `DOCKER_TLS_VERIFY` decides).
    var tlsVerify: Bool?
    var caCertificate: String?
    var certificate: String?
    var key: String?

    /// Starts from `SWIFTD_HOST`, else `DOCKER_HOST`, else the default socket.
    init(environment: [String: String]) {
        host = environment["SWIFTD_HOST"] ?? environment["DOCKER_HOST"] ?? "unix:///run/swiftd.sock"
    }

    /// Reports whether any TLS flag was given on the command line.
    var hasTLSFlags: Bool {
        tls || tlsVerify != nil || caCertificate != nil || certificate != nil || key != nil
    }

    /// Applies the global flag `flag` (such as `--tlscacert` or `--tls=false`), taking its
    /// value from `arguments` when it needs one. Returns false when `flag` is no TLS or host flag.
    ///
    /// - Throws: `UsageFailure` for a missing value or a boolean value other than true or false.
    mutating func apply(_ flag: String, _ arguments: inout ArraySlice<String>) throws(UsageFailure) -> Bool {
        let name = flag.split(separator: "=", maxSplits: 1).first.map(String.init) ?? flag
        let inline = flag.contains("=") ? String(flag.dropFirst(name.count + 1)) : nil
        func value() throws(UsageFailure) -> String {
            if let inline { return inline }
            guard let next = arguments.popFirst() else { throw UsageFailure(message: "flag needs an argument: \(name)") }
            return next
        }
        func boolean() throws(UsageFailure) -> Bool {
            switch inline {
            case nil, "true", "1": return true
            case "false", "0": return false
            default: throw UsageFailure(message: "invalid boolean value \(inline ?? "") for \(name)")
            }
        }
        switch name {
        case "-H", "--host": host = try value()
        case "--tls": tls = try boolean()
        case "--tlsverify": tlsVerify = try boolean()
        case "--tlscacert": caCertificate = try value()
        case "--tlscert": certificate = try value()
        case "--tlskey": key = try value()
        default: return false
        }
        return true
    }

    /// Builds the endpoint for `host`, loading the TLS files for a `tcp://` address.
    ///
    /// `DOCKER_TLS_VERIFY` (any non-empty value) turns on `--tlsverify` when the flag is absent.
    /// `DOCKER_CERT_PATH`, when set, names the directory of the default `ca.pem`, `cert.pem`
    /// and `key.pem`. A default certificate or key that does not exist is left out, as
    /// `SetDefaultOptions` in the docker CLI's cli/flags/options.go does. Unlike docker, the
    /// client has no `~/.docker` default.
    ///
    /// - Throws: `ClientSetupError` for an unsupported address, a TLS file that does not exist
    ///   or fails to load, or a certificate without its key.
    func endpoint(environment: [String: String]) throws -> APIClient.Endpoint {
        if host.hasPrefix("unix://") || host.hasPrefix("/") {
            if hasTLSFlags {
                throw ClientSetupError("the TLS flags apply only to tcp:// addresses, not \(host)")
            }
            return .unix(path: host.hasPrefix("unix://") ? String(host.dropFirst("unix://".count)) : host)
        }
        guard host.hasPrefix("tcp://") else {
            throw ClientSetupError("invalid daemon address \(host): use unix://PATH or tcp://HOST:PORT")
        }
        let verify = tlsVerify ?? !(environment["DOCKER_TLS_VERIFY"] ?? "").isEmpty
        let useTLS = tls || tlsVerify != nil || verify
        let address: TCPAddress
        do {
            address = try TCPAddress(parsing: host, defaultHost: "localhost", defaultPort: useTLS ? 2376 : 2375)
        } catch {
            throw ClientSetupError("\(error)")
        }
        guard useTLS else { return .tcp(address, tls: nil) }
        let context = try tlsContext(verify: verify, certificatePath: environment["DOCKER_CERT_PATH"])
        return .tcp(address, tls: context)
    }

    /// Loads the TLS files chosen by the flags and `certificatePath`.
    private func tlsContext(verify: Bool, certificatePath: String?) throws -> TLSClientContext {
        func existing(_ flagValue: String?, default name: String) -> String? {
            if let flagValue { return flagValue }
            guard let certificatePath else { return nil }
            let path = "\(certificatePath)/\(name)"
            return FileManager.default.fileExists(atPath: path) ? path : nil
        }
        let ca = caCertificate ?? certificatePath.map { "\($0)/ca.pem" }
        let certificate = existing(certificate, default: "cert.pem")
        let key = existing(key, default: "key.pem")
        let files = [("CA certificate", verify ? ca : nil), ("certificate", certificate), ("key", key)]
        for (kind, path) in files {
            if let path, !FileManager.default.fileExists(atPath: path) {
                throw ClientSetupError("could not read the TLS \(kind) \(path): no such file")
            }
        }
        if (certificate == nil) != (key == nil) {
            throw ClientSetupError(
                "a TLS client certificate needs its key: give both --tlscert and --tlskey")
        }
        do {
            return try TLSClientContext(
                extraCA: verify ? ca : nil, verify: verify, certificate: certificate, key: key)
        } catch {
            throw ClientSetupError("\(error)")
        }
    }
}

/// A daemon address or TLS setting that the client cannot use; the client exits 125.
struct ClientSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
