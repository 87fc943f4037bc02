/* libarchive: reading and writing tar archives. */
#include <archive.h>
#include <archive_entry.h>
/*
 * setxattr/lgetxattr for overlay whiteouts (trusted.overlay.opaque): Swift's Glibc module does
 * not include <sys/xattr.h>. Can go once it does.
 */
#include <sys/xattr.h>
