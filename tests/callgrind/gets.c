/*
 * A fixed get workload for the instruction-count check (check.sh): 100,000
 * variables of 16-byte keys and 64-byte values, then N gets of keys drawn by
 * a fixed generator, by name or through handles. Only run_gets is counted
 * (callgrind --toggle-collect); check.sh runs N and 2N and divides the
 * difference by N, which cancels everything that does not grow with N.
 *
 *   callgrind_gets name|handle N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmf.h"

#define KEYS 100000u
#define VALUE 64u

static char keys[KEYS][17];

/* order[i] is the key (by name) or the handle of the i-th get, so that the
   loop around the calls costs a few instructions */
__attribute__((noinline)) static unsigned run_gets(mmf *ns, int handles, void *const *order,
                                                   long n) {
    unsigned char buf[VALUE];
    size_t len;
    unsigned bad = 0;
    if (handles)
        for (long i = 0; i < n; i++)
            bad |= mmf_var_get(order[i], buf, sizeof buf, &len, NULL);
    else
        for (long i = 0; i < n; i++)
            bad |= mmf_get(ns, order[i], buf, sizeof buf, &len);
    return bad;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "name") && strcmp(argv[1], "handle"))) {
        fprintf(stderr, "usage: %s name|handle N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    int handles = !strcmp(argv[1], "handle");
    char name[64];
    snprintf(name, sizeof name, "mmf-callgrind.%d", (int)getpid());
    mmf_unlink(name, NULL);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.max_vars = KEYS + 1024;
    o.size = 64u << 20;
    mmf *ns;
    int rc = mmf_open(&o, &ns);
    if (rc) {
        fprintf(stderr, "open: %s\n", mmf_strerror(rc));
        return 1;
    }
    unsigned char val[VALUE];
    memset(val, 0x5a, sizeof val);
    for (unsigned i = 0; i < KEYS && !rc; i++) {
        snprintf(keys[i], sizeof keys[i], "key:%012u", i);
        rc = mmf_set(ns, keys[i], val, sizeof val);
    }
    mmf_var **vars = NULL;
    void **order = malloc(sizeof *order * (size_t)(n > 0 ? n : 1));
    if (handles) vars = calloc(KEYS, sizeof *vars);
    for (unsigned i = 0; handles && vars && i < KEYS && !rc; i++)
        rc = mmf_var_open(ns, keys[i], &vars[i]);
    uint64_t x = 88172645463325252ull; /* xorshift64: the same keys every run */
    for (long i = 0; order && (vars || !handles) && i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned k = (unsigned)(x % KEYS);
        order[i] = handles ? (void *)vars[k] : (void *)keys[k];
    }
    unsigned bad = rc || !order || (handles && !vars) ? 1 : run_gets(ns, handles, order, n);
    for (unsigned i = 0; vars && i < KEYS; i++)
        mmf_var_close(vars[i]);
    free(vars);
    free(order);
    mmf_close(ns);
    mmf_unlink(name, NULL);
    if (bad) fprintf(stderr, "callgrind_gets: a get failed (setup rc %d)\n", rc);
    return bad ? 1 : 0;
}
