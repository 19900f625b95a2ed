/*
 * The structural workloads, churn and growth (workload.h): what inserts and
 * deletes do to a store over time, rather than how processes share it. Each
 * runs in one freshly forked process on an empty store of the system's own
 * (backend.h, open_empty) and hands its figures back through a shared
 * anonymous mapping. Every operation is timed: a structural one costs far
 * more than the two clock reads, which are taken off as everywhere else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workload.h"

/* keys never inserted: bench_key ids 3,000,000,000 .. 3,999,999,999 */
#define MISS_BASE 3000000000u
#define MISS_SPAN 1000000000u

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* a timed get of key i, into h; a hit must be found, a miss must not */
static int timed_get(const bench_backend *b, void *c, unsigned i, int want_hit, hist *h,
                     unsigned char *buf, size_t cap) {
    char key[17];
    size_t len;
    bench_key(key, i);
    uint64_t t0 = now_ns();
    int rc = b->get(c, key, buf, cap, &len);
    hist_record(h, latency_since(t0));
    return want_hit ? rc != 0 : rc != BENCH_NOTFOUND;
}

/* n gets of present keys (ids lo .. hi - 1) and n of absent ones, in turn */
static uint64_t timed_gets(const bench_backend *b, void *c, unsigned lo, unsigned hi, uint64_t n,
                           hist *hit, hist *miss, uint64_t *rng, unsigned char *buf, size_t cap) {
    uint64_t errors = 0;
    for (uint64_t k = 0; k < n; k++) {
        errors += timed_get(b, c, lo + (unsigned)(next_rand(rng) % (hi - lo)), 1, hit, buf, cap);
        errors +=
            timed_get(b, c, MISS_BASE + (unsigned)(next_rand(rng) % MISS_SPAN), 0, miss, buf, cap);
    }
    return errors;
}

static int put(const bench_backend *b, void *c, const bench_cfg *cfg, unsigned i,
               unsigned char *val) {
    char key[17];
    bench_key(key, i);
    memcpy(val, &i, sizeof i);
    return b->set(c, key, val, cfg->value);
}

static void churn_child(const bench_backend *b, const bench_cfg *cfg, churn_result *r) {
    void *c = b->open_empty(cfg, r->capacity, r->capacity);
    if (!c) {
        r->skipped = 1;
        snprintf(r->why, sizeof r->why, "could not create an empty store");
        return;
    }
    size_t cap = cfg->value + 64;
    unsigned char *buf = calloc(1, cap), *val = calloc(1, cfg->value + sizeof(unsigned));
    uint64_t rng = 0x2545f4914f6cdd1dull;
    unsigned lo = 0, hi = 0; /* the live keys are ids lo .. hi - 1 */
    for (; hi < r->live; hi++)
        r->errors += put(b, c, cfg, hi, val) != 0;
    if (b->stats) r->have_stats = b->stats(c, &r->filled) == 0;
    r->errors +=
        timed_gets(b, c, lo, hi, r->samples, &r->before_hit, &r->before_miss, &rng, buf, cap);
    uint64_t t0 = now_ns();
    for (uint64_t p = 0; p < r->pairs; p++) {
        char key[17];
        bench_key(key, lo++);
        uint64_t t = now_ns();
        r->errors += b->del(c, key) != 0;
        hist_record(&r->del, latency_since(t));
        t = now_ns();
        r->errors += put(b, c, cfg, hi++, val) != 0;
        hist_record(&r->insert, latency_since(t));
        r->errors +=
            timed_get(b, c, lo + (unsigned)(next_rand(&rng) % (hi - lo)), 1, &r->hit, buf, cap);
        r->errors += timed_get(b, c, MISS_BASE + (unsigned)(next_rand(&rng) % MISS_SPAN), 0,
                               &r->miss, buf, cap);
    }
    r->seconds = (double)(now_ns() - t0) / 1e9;
    r->errors +=
        timed_gets(b, c, lo, hi, r->samples, &r->after_hit, &r->after_miss, &rng, buf, cap);
    if (r->have_stats) r->have_stats = b->stats(c, &r->end) == 0;
    b->close_empty(c, cfg);
    free(buf);
    free(val);
}

static void growth_child(const bench_backend *b, const bench_cfg *cfg, growth_result *r) {
    void *c = b->open_empty(cfg, r->presize, r->keys);
    if (!c) {
        r->skipped = 1;
        snprintf(r->why, sizeof r->why, "could not create an empty store");
        return;
    }
    unsigned char *val = calloc(1, cfg->value + sizeof(unsigned));
    uint64_t worst = 0, t0 = now_ns();
    for (unsigned i = 0; i < r->keys; i++) {
        uint64_t t = now_ns();
        r->errors += put(b, c, cfg, i, val) != 0;
        uint64_t ns = latency_since(t);
        hist_record(&r->insert, ns);
        if (ns > worst) worst = ns, r->worst_at = i;
    }
    r->seconds = (double)(now_ns() - t0) / 1e9;
    if (b->stats) r->have_stats = b->stats(c, &r->end) == 0;
    b->close_empty(c, cfg);
    free(val);
}

/* Runs fn on a copy of *r in a child process and copies the result back;
   a child that dies is reported, not waited for past its end. */
static void in_child(const bench_backend *b, const bench_cfg *cfg, void *r, size_t size,
                     void (*fn)(const bench_backend *, const bench_cfg *, void *), int *skipped,
                     char *why, size_t why_size) {
    void *shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        *skipped = 1;
        snprintf(why, why_size, "no memory for the results");
        return;
    }
    memcpy(shared, r, size);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        fn(b, cfg, shared);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) status = -1;
    memcpy(r, shared, size);
    munmap(shared, size);
    if (status != 0) {
        *skipped = 1;
        if (WIFSIGNALED(status))
            snprintf(why, why_size, "its process died of signal %d", WTERMSIG(status));
        else
            snprintf(why, why_size, "its process failed");
    }
}

static void churn_fn(const bench_backend *b, const bench_cfg *cfg, void *r) {
    churn_child(b, cfg, r);
}

static void growth_fn(const bench_backend *b, const bench_cfg *cfg, void *r) {
    growth_child(b, cfg, r);
}

void run_churn(const bench_backend *b, const bench_cfg *cfg, uint64_t pairs, churn_result *out) {
    memset(out, 0, sizeof *out);
    out->system = b->name;
    if (!b->open_empty || !b->del || !b->get) {
        out->skipped = 1;
        snprintf(out->why, sizeof out->why, "no churn here");
        return;
    }
    out->capacity = cfg->keys;
    out->live = (unsigned)((uint64_t)cfg->keys * 92 / 100);
    if (out->live < 2) out->live = 2;
    out->pairs = pairs;
    out->samples = cfg->keys < 10000 ? 10000 : cfg->keys > 100000 ? 100000 : cfg->keys;
    in_child(b, cfg, out, sizeof *out, churn_fn, &out->skipped, out->why, sizeof out->why);
}

void run_growth(const bench_backend *b, const bench_cfg *cfg, unsigned keys, unsigned presize,
                growth_result *out) {
    memset(out, 0, sizeof *out);
    out->system = b->name;
    if (!b->open_empty) {
        out->skipped = 1;
        snprintf(out->why, sizeof out->why, "no growth here");
        return;
    }
    out->keys = keys;
    out->presize = presize;
    in_child(b, cfg, out, sizeof *out, growth_fn, &out->skipped, out->why, sizeof out->why);
}
