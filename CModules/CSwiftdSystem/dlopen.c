#define _GNU_SOURCE
#include "swd_dlopen.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Copies dlerror's message, which the next dl call would overwrite. */
static const char *loader_error(const char *fallback) {
    const char *message = dlerror();
    char *copy = strdup(message != NULL ? message : fallback);
    return copy != NULL ? copy : fallback;
}

void *swd_dlopen(const char *soname, const char **error) {
    void *library = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
    if (library == NULL) *error = loader_error(soname);
    return library;
}

void *swd_dlsym(void *library, const char *name, const char **error) {
    dlerror();
    void *address = dlsym(library, name);
    if (address == NULL) *error = loader_error(name);
    return address;
}

void swd_exit_loading(const char *message) {
    fprintf(stderr, "%s: error while loading shared libraries: %s\n",
            program_invocation_short_name, message);
    _exit(127);
}
