#include "shim.h"

SWD_DEFINE_LIBRARY(swd_libsystemd, "libsystemd.so.0", SWD_LIBSYSTEMD_FUNCTIONS)
