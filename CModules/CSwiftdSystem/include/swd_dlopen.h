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
 * If that fails, it prints the loader's error and exits with 127, as the dynamic loader does
 * for a missing linked library. `const char *TABLE_load_error(void)` loads the library too,
 * and returns the loader's message instead, or NULL once the table is filled: a daemon calls it
 * first, so that a request fails rather than the whole process.
 */
#define SWD_DEFINE_LIBRARY(TABLE, soname, FUNCTIONS)                                             \
    static struct TABLE TABLE##_table;                                                           \
    static const char *TABLE##_error;                                                            \
    static pthread_once_t TABLE##_loaded = PTHREAD_ONCE_INIT;                                    \
    static void TABLE##_load(void) {                                                             \
        const char **error = &TABLE##_error;                                                     \
        void *library = swd_dlopen(soname, error);                                               \
        struct TABLE *table = &TABLE##_table;                                                    \
        if (library == NULL) return;                                                             \
        FUNCTIONS(SWD_LOAD_FUNCTION)                                                             \
    }                                                                                            \
    const char *TABLE##_load_error(void) {                                                       \
        pthread_once(&TABLE##_loaded, TABLE##_load);                                             \
        return TABLE##_error;                                                                    \
    }                                                                                            \
    const struct TABLE *TABLE(void) {                                                            \
        pthread_once(&TABLE##_loaded, TABLE##_load);                                             \
        if (TABLE##_error != NULL) swd_exit_loading(TABLE##_error);                              \
        return &TABLE##_table;                                                                   \
    }
#define SWD_LOAD_FUNCTION(name)                                                                  \
    {                                                                                            \
        void *address = swd_dlsym(library, #name, error);                                        \
        if (address == NULL) return;                                                             \
        table->name = address;                                                                   \
    }

/*
 * Returns the handle of the library `soname`, loading it if needed, or sets `*error` to the
 * loader's message (which stays valid) and returns NULL.
 */
void *_Nullable swd_dlopen(const char *_Nonnull soname, const char *_Nullable *_Nonnull error);

/* Returns the address of `name` in `library`, or sets `*error` as swd_dlopen does. */
void *_Nullable swd_dlsym(void *_Nonnull library, const char *_Nonnull name,
                          const char *_Nullable *_Nonnull error);

/* Prints `message` as the dynamic loader prints a loading error, and exits with 127. */
_Noreturn void swd_exit_loading(const char *_Nonnull message);

#endif
