#define _GNU_SOURCE
#include "swd_dlopen.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

void *swd_dlopen_or_exit(const char *soname) {
    void *library = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "%s: error while loading shared libraries: %s\n",
                program_invocation_short_name, dlerror());
        _exit(127);
    }
    return library;
}

void *swd_dlsym_or_exit(void *library, const char *name) {
    dlerror();
    void *address = dlsym(library, name);
    if (address == NULL) {
        const char *error = dlerror();
        fprintf(stderr, "%s: symbol lookup error: %s\n", program_invocation_short_name,
                error != NULL ? error : name);
        _exit(127);
    }
    return address;
}
