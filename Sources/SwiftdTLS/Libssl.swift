import CTLS

/// libssl's functions, from the library that `swd_libssl` loads on first use.
let libssl = swd_libssl().pointee
