import CCrypto

/// libcrypto's functions, from the library that `swd_libcrypto` loads on first use.
// TODO: SHA256's initializer cannot throw, so a daemon that cannot load libcrypto exits with
// 127 at its first digest instead of failing that one request.
let libcrypto = swd_libcrypto().pointee
