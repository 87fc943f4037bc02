import CArchive

/// libarchive's functions, from the library that `swd_libarchive` loads on first use.
let libarchive = swd_libarchive().pointee
