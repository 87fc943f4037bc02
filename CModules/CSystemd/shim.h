/* libsystemd: sd_notify and socket activation. */
#include <systemd/sd-daemon.h>
