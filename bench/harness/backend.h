/*
 * A system under test, as the harness drives it. Every call returns 0 on
 * success; a get of a missing key returns BENCH_NOTFOUND (the throughput
 * workloads only read keys they loaded, and count it as an error; churn
 * reads absent keys on purpose). prepare runs in the parent before the processes are forked;
 * connect, the operations and disconnect run in each child. connect (and
 * subscribe, for a subscriber) run before any process of the run starts:
 * whatever a process must have seen before another one sends it something
 * (the version it will wait past, a subscription) is done there.
 */
#ifndef MMF_BENCH_BACKEND_H
#define MMF_BENCH_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bench_cfg {
    unsigned keys;    /* key:000000000000 .. keys - 1, loaded by prepare */
    unsigned value;   /* value size in bytes */
    const char *dir;  /* a private scratch directory */
    const char *name; /* unique per run, for namespaces and the like */
} bench_cfg;

#define BENCH_NOTFOUND 1

/* what a system says of its own structure (mmf: mmf_stat), for churn and growth */
typedef struct bench_stats {
    uint64_t size, vars, max_vars, tombstones, grows, index_rebuilds;
} bench_stats;

typedef struct bench_backend {
    const char *name;
    /* NULL if it can run here, else why not (said once, never faked) */
    const char *(*unavailable)(void);
    int (*prepare)(const bench_cfg *cfg);
    void *(*connect)(const bench_cfg *cfg);
    int (*get)(void *c, const char *key, void *buf, size_t cap, size_t *len);
    int (*set)(void *c, const char *key, const void *val, size_t len);
    int (*incr)(void *c, const char *key);
    /* or, for a system that holds a handle per key: the same by index
       (0 .. keys - 1 the keys, keys "hot", keys + 1 .. keys + 4 the
       counters); used instead of get/set/incr when present */
    int (*get_at)(void *c, unsigned i, void *buf, size_t cap, size_t *len);
    int (*set_at)(void *c, unsigned i, const void *val, size_t len);
    int (*incr_at)(void *c, unsigned i);
    /* ping-pong between side 0 and side 1: send to the other side, and wait
       (sleeping, not spinning) for what it sends; NULL if not supported */
    int (*send)(void *c, int side, uint64_t msg);
    int (*recv)(void *c, int side, uint64_t *msg);
    /* one publisher, many subscribers; NULL if not supported. subscribe (may
       be NULL) makes everything published after it returns reach
       subscribe_next */
    int (*publish)(void *c, uint64_t msg);
    int (*subscribe)(void *c);
    int (*subscribe_next)(void *c, uint64_t *msg);
    void (*disconnect)(void *c);
    void (*cleanup)(const bench_cfg *cfg);
    /* churn and growth (structural.c), between prepare and cleanup, in one
       process: an empty store of its own, apart from the loaded one.
       presize 0: created as the system starts one by default (mmf: its
       default size and max_vars), to grow; else made for presize keys
       (mmf: max_vars = presize and a heap for them). most: the most keys it
       will hold at once (LMDB sizes its map by it). NULL: neither workload */
    void *(*open_empty)(const bench_cfg *cfg, unsigned presize, unsigned most);
    void (*close_empty)(void *c, const bench_cfg *cfg); /* closes and removes it */
    int (*del)(void *c, const char *key);               /* NULL: no churn */
    int (*stats)(void *c, bench_stats *st);             /* NULL: none to give */
} bench_backend;

extern const bench_backend backend_mmf, backend_mmf_var, backend_mmf_spin, backend_lmdb,
    backend_redis, backend_pipe, backend_word;

void bench_key(char *buf, unsigned i); /* 16-byte keys */

#endif
