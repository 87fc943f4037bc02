#ifndef SWD_ARCHIVE_SHIM_H
#define SWD_ARCHIVE_SHIM_H

/* libarchive: reading and writing tar archives, loaded on first use (see swd_dlopen.h). */
#include <archive.h>
#include <archive_entry.h>
/*
 * setxattr/lgetxattr for overlay whiteouts (trusted.overlay.opaque): Swift's Glibc module does
 * not include <sys/xattr.h>. Can go once it does.
 */
#include <sys/xattr.h>

#include "swd_dlopen.h"

/* The libarchive functions that swiftd calls. */
#define SWD_LIBARCHIVE_FUNCTIONS(F) \
    F(archive_entry_copy_hardlink) \
    F(archive_entry_copy_pathname) \
    F(archive_entry_copy_sourcepath) \
    F(archive_entry_filetype) \
    F(archive_entry_free) \
    F(archive_entry_hardlink) \
    F(archive_entry_linkify) \
    F(archive_entry_linkresolver_free) \
    F(archive_entry_linkresolver_new) \
    F(archive_entry_linkresolver_set_strategy) \
    F(archive_entry_new) \
    F(archive_entry_pathname) \
    F(archive_entry_pathname_utf8) \
    F(archive_entry_set_filetype) \
    F(archive_entry_set_gid) \
    F(archive_entry_set_mtime) \
    F(archive_entry_set_pathname) \
    F(archive_entry_set_perm) \
    F(archive_entry_set_size) \
    F(archive_entry_set_uid) \
    F(archive_entry_size) \
    F(archive_entry_xattr_add_entry) \
    F(archive_entry_xattr_clear) \
    F(archive_entry_xattr_next) \
    F(archive_entry_xattr_reset) \
    F(archive_error_string) \
    F(archive_format) \
    F(archive_read_data) \
    F(archive_read_data_block) \
    F(archive_read_data_skip) \
    F(archive_read_disk_entry_from_file) \
    F(archive_read_disk_new) \
    F(archive_read_free) \
    F(archive_read_new) \
    F(archive_read_next_header) \
    F(archive_read_open) \
    F(archive_read_open_fd) \
    F(archive_read_open_filename) \
    F(archive_read_support_filter_bzip2) \
    F(archive_read_support_filter_gzip) \
    F(archive_read_support_filter_lzma) \
    F(archive_read_support_filter_xz) \
    F(archive_read_support_filter_zstd) \
    F(archive_read_support_format_raw) \
    F(archive_read_support_format_tar) \
    F(archive_write_add_filter_gzip) \
    F(archive_write_close) \
    F(archive_write_data) \
    F(archive_write_data_block) \
    F(archive_write_disk_new) \
    F(archive_write_disk_set_options) \
    F(archive_write_finish_entry) \
    F(archive_write_free) \
    F(archive_write_header) \
    F(archive_write_new) \
    F(archive_write_open_fd) \
    F(archive_write_open_filename) \
    F(archive_write_set_bytes_in_last_block) \
    F(archive_write_set_bytes_per_block) \
    F(archive_write_set_format_pax_restricted) \
    F(archive_write_set_format_raw) \
    F(archive_write_set_options)

struct swd_libarchive {
    SWD_LIBARCHIVE_FUNCTIONS(SWD_FUNCTION_FIELD)
};

/* Returns libarchive's functions, loading libarchive on the first call. */
const struct swd_libarchive *_Nonnull swd_libarchive(void);

/* Loads libarchive if needed; returns the loader's message if that failed, or NULL. */
const char *_Nullable swd_libarchive_load_error(void);

#endif
