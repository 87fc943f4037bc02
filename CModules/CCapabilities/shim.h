/* libcap: capability names and numbers. */
#include <sys/capability.h>
