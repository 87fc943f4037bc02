import CCrypto

/// libcrypto's functions, from the library that `swd_libcrypto` loads on first use.
let libcrypto = swd_libcrypto().pointee
