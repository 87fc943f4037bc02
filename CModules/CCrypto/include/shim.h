#ifndef SWD_CRYPTO_SHIM_H
#define SWD_CRYPTO_SHIM_H

/* OpenSSL's libcrypto: sha256 through the EVP interface, loaded on first use (swd_dlopen.h). */
#include <openssl/evp.h>

#include "swd_dlopen.h"

/* The libcrypto functions that swiftd calls. */
#define SWD_LIBCRYPTO_FUNCTIONS(F) \
    F(EVP_DigestFinal_ex) \
    F(EVP_DigestInit_ex) \
    F(EVP_DigestUpdate) \
    F(EVP_MD_CTX_free) \
    F(EVP_MD_CTX_new) \
    F(EVP_sha256)

struct swd_libcrypto {
    SWD_LIBCRYPTO_FUNCTIONS(SWD_FUNCTION_FIELD)
};

/* Returns libcrypto's functions, loading libcrypto on the first call. */
const struct swd_libcrypto *_Nonnull swd_libcrypto(void);

#endif
