import CTLS

#if canImport(Glibc)
    import Glibc
#endif

/// A TLS server configuration: the daemon's certificate and key, and optionally the CA that
/// client certificates must be signed by.
public final class TLSServerContext: @unchecked Sendable {
    // Safe because: an SSL_CTX is only read after init; OpenSSL 3 makes that thread-safe.
    private let context: OpaquePointer

    /// Loads `certificate` and `key` (PEM files). With `clientCA`, every client must present a
    /// certificate signed by it (`--tlsverify`).
    ///
    /// - Throws: `TLSError` naming the file that failed to load.
    public init(certificate: String, key: String, clientCA: String?) throws {
        guard let method = libssl.TLS_server_method(), let context = libssl.SSL_CTX_new(method)
        else {
            throw TLSError.last("SSL_CTX_new")
        }
        self.context = context
        _ = swd_ssl_ctx_set_min_tls12(context)
        _ = swd_ssl_ctx_set_auto_retry(context)
        try useCertificate(context, certificate: certificate, key: key)
        if let clientCA {
            guard libssl.SSL_CTX_load_verify_locations(context, clientCA, nil) == 1 else {
                throw TLSError.last("loading the CA certificate \(clientCA)")
            }
            libssl.SSL_CTX_set_verify(
                context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
    }

    deinit { libssl.SSL_CTX_free(context) }

    /// Performs the server side of the handshake on the connected socket `fd`.
    ///
    /// Blocks until the handshake ends. The session does not own `fd`.
    /// - Throws: `TLSError` when the handshake fails, such as a missing client certificate.
    public func accept(fd: Int32) throws -> TLSSession {
        guard let ssl = libssl.SSL_new(context) else { throw TLSError.last("SSL_new") }
        _ = libssl.SSL_set_fd(ssl, fd)
        let result = libssl.SSL_accept(ssl)
        if result != 1 {
            let error = TLSError.last("TLS handshake")
            libssl.SSL_free(ssl)
            throw error
        }
        return TLSSession(ssl: ssl)
    }
}

/// Loads the PEM `certificate` chain and `key` into `context` and checks that they match.
///
/// - Throws: `TLSError` naming the file that failed to load.
func useCertificate(_ context: OpaquePointer, certificate: String, key: String) throws {
    guard libssl.SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
        throw TLSError.last("loading the certificate \(certificate)")
    }
    guard libssl.SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
        throw TLSError.last("loading the key \(key)")
    }
    guard libssl.SSL_CTX_check_private_key(context) == 1 else {
        throw TLSError.last("matching the key \(key) to the certificate \(certificate)")
    }
}

/// One TLS connection. Reads and writes block; one thread reads and one writes at a time.
public final class TLSSession: @unchecked Sendable {
    // Safe because: the connection serialises writes with its own lock and reads happen on one
    // thread at a time; OpenSSL allows one reader and one writer on a session only under such a
    // discipline, which `Connection` keeps.
    private let ssl: OpaquePointer

    init(ssl: OpaquePointer) { self.ssl = ssl }

    deinit { libssl.SSL_free(ssl) }

    /// Reads up to `buffer.count` bytes; returns 0 at the end of the stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = libssl.SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
        if count > 0 { return Int(count) }
        let reason = libssl.SSL_get_error(ssl, count)
        if reason == SSL_ERROR_ZERO_RETURN || reason == SSL_ERROR_SYSCALL { return 0 }
        throw TLSError.last("TLS read")
    }

    /// Writes all of `bytes`.
    ///
    /// With TLS 1.3 a server checks the client's certificate after the client's handshake has
    /// finished, so its alert can arrive only as a write fails; the error then carries the alert
    /// (such as "certificate required") when the peer's data can still be read.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let count = libssl.SSL_write(
                ssl, bytes.baseAddress! + offset, Int32(bytes.count - offset))
            guard count > 0 else {
                let code = errno
                var error = TLSError.last("TLS write")
                if error.reason == "unknown error" {
                    var byte: UInt8 = 0
                    if libssl.SSL_read(ssl, &byte, 1) <= 0 {
                        let alert = TLSError.last("TLS write")
                        error.reason = alert.reason != "unknown error"
                            ? alert.reason : "the connection was closed (\(String(cString: strerror(code))))"
                    }
                }
                throw error
            }
            offset += Int(count)
        }
    }

    /// Sends the TLS close notification.
    public func shutdown() {
        _ = libssl.SSL_shutdown(ssl)
    }
}

/// A failed OpenSSL call, with the text of OpenSSL's error queue.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var reason: String

    public var description: String { "\(operation) failed: \(reason)" }

    /// Takes the oldest error from this thread's OpenSSL error queue, and clears the queue.
    static func last(_ operation: String) -> TLSError {
        let code = libssl.ERR_get_error()
        libssl.ERR_clear_error()
        guard code != 0 else { return TLSError(operation: operation, reason: "unknown error") }
        var buffer = [CChar](repeating: 0, count: 256)
        libssl.ERR_error_string_n(code, &buffer, buffer.count)
        let text = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return TLSError(operation: operation, reason: String(decoding: text, as: UTF8.self))
    }
}
