/* The crash-point hook (see crash.h); compiled into the crash-test build only. */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"

void mmf__crash_point(const char *name) {
    const char *at = getenv("MMF_CRASH_AT");
    if (!at) return;
    size_t n = strlen(name);
    if (strncmp(at, name, n) != 0 || (at[n] != '\0' && at[n] != '@')) return;
    /* a test-build-only counter: the N-th time this process gets here */
    static atomic_long hits;
    long want = at[n] == '@' ? atol(at + n + 1) : 1;
    if (atomic_fetch_add(&hits, 1) + 1 != want) return;
    /* MMF_CRASH_STOP=1: stop instead, a writer alive but stalled mid-write */
    const char *stop = getenv("MMF_CRASH_STOP");
    raise(stop && *stop == '1' ? SIGSTOP : SIGKILL);
}
