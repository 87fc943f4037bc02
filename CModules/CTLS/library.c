#include "shim.h"

/* The soname of the OpenSSL release whose headers this is built with: libssl.so.3. */
#define SWD_STRING(value) #value
#define SWD_SONAME(major) "libssl.so." SWD_STRING(major)

SWD_DEFINE_LIBRARY(swd_libssl, SWD_SONAME(OPENSSL_VERSION_MAJOR), SWD_LIBSSL_FUNCTIONS)

long swd_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return swd_libssl()->SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION,
                                      NULL);
}

long swd_ssl_ctx_set_auto_retry(SSL_CTX *context) {
    return swd_libssl()->SSL_CTX_ctrl(context, SSL_CTRL_MODE, SSL_MODE_AUTO_RETRY, NULL);
}
