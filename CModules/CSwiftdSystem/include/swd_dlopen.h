#ifndef SWD_DLOPEN_H
#define SWD_DLOPEN_H

/*
 * libarchive, OpenSSL and libsystemd are loaded with dlopen on first use, not linked, because
 * most commands never call them. The dynamic loader maps and relocates every linked library at
 * each process start, and these three bring libxml2, ICU and libgcrypt with them.
 */

#include <pthread.h>

/* A table field named after the library function `name`, with that function's type. */
#define SWD_FUNCTION_FIELD(name) __typeof__(name) *_Nonnull name;

/*
 * Defines `const struct TABLE *TABLE(void)`. Its first call, from whichever thread, loads the
 * library `soname` and fills the table with the functions that the X-macro FUNCTIONS lists.
 */
#define SWD_DEFINE_LIBRARY(TABLE, soname, FUNCTIONS)                                             \
    static struct TABLE TABLE##_table;                                                           \
    static pthread_once_t TABLE##_loaded = PTHREAD_ONCE_INIT;                                    \
    static void TABLE##_load(void) {                                                             \
        void *library = swd_dlopen_or_exit(soname);                                              \
        struct TABLE *table = &TABLE##_table;                                                    \
        FUNCTIONS(SWD_LOAD_FUNCTION)                                                             \
    }                                                                                            \
    const struct TABLE *TABLE(void) {                                                            \
        pthread_once(&TABLE##_loaded, TABLE##_load);                                             \
        return &TABLE##_table;                                                                   \
    }
#define SWD_LOAD_FUNCTION(name) table->name = swd_dlsym_or_exit(library, #name);

/*
 * Returns the handle of the library `soname`, loading it if needed. If that fails, it prints the
 * loader's error and exits with 127, as the dynamic loader does for a missing linked library.
 */
void *_Nonnull swd_dlopen_or_exit(const char *_Nonnull soname);

/* Returns the address of `name` in `library`, or prints the loader's error and exits with 127. */
void *_Nonnull swd_dlsym_or_exit(void *_Nonnull library, const char *_Nonnull name);

#endif
