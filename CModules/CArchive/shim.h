/* libarchive: reading and writing tar archives. */
#include <archive.h>
#include <archive_entry.h>
