/* libiptc (IPv4): the nat and filter tables. */
#include <libiptc/libiptc.h>
