import CTLS

/// A TLS client configuration: which certificates a server must present.
public final class TLSClientContext: @unchecked Sendable {
    // Safe because: the SSL_CTX is only read after init; OpenSSL 3 makes that thread-safe.
    private let context: OpaquePointer
    /// Whether the server's certificate and name are checked.
    public let verifies: Bool

    /// Creates a client context that trusts the system's CA store and, when given, the extra
    /// PEM file `extraCA` (such as `/etc/swiftd/certs.d/HOST/ca.crt`). With `verify` false the
    /// server's certificate is not checked at all (`--insecure-registry`). With `certificate`
    /// and `key` (PEM files), the client presents that certificate to servers that ask for one.
    ///
    /// - Throws: `TLSError` naming the file that failed to load.
    public init(
        extraCA: String? = nil, verify: Bool = true, certificate: String? = nil, key: String? = nil
    ) throws {
        guard let method = libssl.TLS_client_method(), let context = libssl.SSL_CTX_new(method)
        else {
            throw TLSError.last("SSL_CTX_new")
        }
        self.context = context
        verifies = verify
        _ = swd_ssl_ctx_set_min_tls12(context)
        _ = swd_ssl_ctx_set_auto_retry(context)
        if let certificate, let key {
            try useCertificate(context, certificate: certificate, key: key)
        }
        guard verify else {
            libssl.SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            return
        }
        guard libssl.SSL_CTX_set_default_verify_paths(context) == 1 else {
            throw TLSError.last("loading the system CA store")
        }
        if let extraCA {
            guard libssl.SSL_CTX_load_verify_locations(context, extraCA, nil) == 1 else {
                throw TLSError.last("loading the CA certificate \(extraCA)")
            }
        }
        libssl.SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
    }

    deinit { libssl.SSL_CTX_free(context) }

    /// Performs the client side of the handshake on the connected socket `fd`, sending
    /// `serverName` as SNI (unless it is an IP address) and, when verifying, checking that the
    /// certificate names it. Blocks until the handshake ends. The session does not own `fd`.
    ///
    /// - Throws: `TLSError` when the handshake or the certificate check fails.
    public func connect(fd: Int32, serverName: String) throws -> TLSSession {
        guard let ssl = libssl.SSL_new(context) else { throw TLSError.last("SSL_new") }
        _ = libssl.SSL_set_fd(ssl, fd)
        let isAddress =
            serverName.contains(":") || serverName.allSatisfy { $0.isNumber || $0 == "." }
        if !isAddress {
            // SSL_set_tlsext_host_name is a macro over SSL_ctrl.
            let sslControlSetHostName: Int32 = 55
            let nameTypeHostName = 0
            _ = serverName.withCString { name in
                libssl.SSL_ctrl(
                    ssl, sslControlSetHostName, nameTypeHostName,
                    UnsafeMutableRawPointer(
                        mutating: name))
            }
        }
        if verifies {
            guard libssl.SSL_set1_host(ssl, serverName) == 1 else {
                libssl.SSL_free(ssl)
                throw TLSError.last("setting the expected TLS name \(serverName)")
            }
        }
        if libssl.SSL_connect(ssl) != 1 {
            let result = libssl.SSL_get_verify_result(ssl)
            var error = TLSError.last("TLS handshake with \(serverName)")
            if result != Int(X509_V_OK), let text = libssl.X509_verify_cert_error_string(result) {
                error.reason = "certificate verification failed: " + String(cString: text)
            }
            libssl.SSL_free(ssl)
            throw error
        }
        return TLSSession(ssl: ssl)
    }
}
