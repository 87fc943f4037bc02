/* OpenSSL's libcrypto: sha256 through the EVP interface. */
#include <openssl/evp.h>
#include <openssl/err.h>
