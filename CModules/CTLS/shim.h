/* OpenSSL's libssl: TLS for tcp:// API listeners. */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

/* SSL_CTX_set_mode and SSL_CTX_set_min_proto_version are macros over SSL_CTX_ctrl. */
static inline long swd_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

static inline long swd_ssl_ctx_set_auto_retry(SSL_CTX *context) {
    return SSL_CTX_set_mode(context, SSL_MODE_AUTO_RETRY);
}
