#ifndef SWD_SYSTEMD_SHIM_H
#define SWD_SYSTEMD_SHIM_H

/* libsystemd: sd_notify and socket activation, loaded on first use (swd_dlopen.h). */
#include <systemd/sd-daemon.h>

#include "swd_dlopen.h"

/* The libsystemd functions that swiftd calls. */
#define SWD_LIBSYSTEMD_FUNCTIONS(F) \
    F(sd_is_socket) \
    F(sd_listen_fds_with_names) \
    F(sd_notify)

struct swd_libsystemd {
    SWD_LIBSYSTEMD_FUNCTIONS(SWD_FUNCTION_FIELD)
};

/* Returns libsystemd's functions, loading libsystemd on the first call. */
const struct swd_libsystemd *_Nonnull swd_libsystemd(void);

#endif
