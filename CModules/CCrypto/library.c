#include "shim.h"

/* The soname of the OpenSSL release whose headers this is built with: libcrypto.so.3. */
#define SWD_STRING(value) #value
#define SWD_SONAME(major) "libcrypto.so." SWD_STRING(major)

SWD_DEFINE_LIBRARY(swd_libcrypto, SWD_SONAME(OPENSSL_VERSION_MAJOR), SWD_LIBCRYPTO_FUNCTIONS)
