#include "shim.h"

SWD_DEFINE_LIBRARY(swd_libarchive, "libarchive.so.13", SWD_LIBARCHIVE_FUNCTIONS)
