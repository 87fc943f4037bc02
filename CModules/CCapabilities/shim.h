/* libcap: capability names and numbers. Nothing here needs a wrapper: cap_from_name,
 * cap_to_name, cap_max_bits and cap_free import as they are. */
#include <sys/capability.h>
