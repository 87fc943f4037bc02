#ifndef SWD_TLS_SHIM_H
#define SWD_TLS_SHIM_H

/*
 * OpenSSL's libssl: TLS for tcp:// API listeners and the client, loaded on first use
 * (swd_dlopen.h). The ERR_ and X509_ functions come from libcrypto, which libssl links.
 */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "swd_dlopen.h"

/* The libssl and libcrypto functions that swiftd's TLS calls. */
#define SWD_LIBSSL_FUNCTIONS(F) \
    F(ERR_clear_error) \
    F(ERR_error_string_n) \
    F(ERR_get_error) \
    F(SSL_CTX_check_private_key) \
    F(SSL_CTX_ctrl) \
    F(SSL_CTX_free) \
    F(SSL_CTX_load_verify_locations) \
    F(SSL_CTX_new) \
    F(SSL_CTX_set_default_verify_paths) \
    F(SSL_CTX_set_verify) \
    F(SSL_CTX_use_PrivateKey_file) \
    F(SSL_CTX_use_certificate_chain_file) \
    F(SSL_accept) \
    F(SSL_connect) \
    F(SSL_ctrl) \
    F(SSL_free) \
    F(SSL_get_error) \
    F(SSL_get_verify_result) \
    F(SSL_new) \
    F(SSL_read) \
    F(SSL_set1_host) \
    F(SSL_set_fd) \
    F(SSL_shutdown) \
    F(SSL_write) \
    F(TLS_client_method) \
    F(TLS_server_method) \
    F(X509_verify_cert_error_string)

struct swd_libssl {
    SWD_LIBSSL_FUNCTIONS(SWD_FUNCTION_FIELD)
};

/* Returns libssl's functions, loading libssl on the first call. */
const struct swd_libssl *_Nonnull swd_libssl(void);

/* SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION), a macro over SSL_CTX_ctrl. */
long swd_ssl_ctx_set_min_tls12(SSL_CTX *_Nonnull context);

/* SSL_CTX_set_mode(context, SSL_MODE_AUTO_RETRY), a macro over SSL_CTX_ctrl. */
long swd_ssl_ctx_set_auto_retry(SSL_CTX *_Nonnull context);

#endif
