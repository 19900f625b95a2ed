/* mmf itself, by name. Ping-pong and publish sleep in mmf_wait. */
#include <stdio.h>
#include <stdlib.h>

#include "backend_mmf_common.h"

static void *connect_(const bench_cfg *cfg) {
    struct mmf_bench_conn *c = calloc(1, sizeof *c);
    if (mmf_bench_open(cfg, false, &c->ns)) {
        free(c);
        return NULL;
    }
    mmf_bench_conn_init(c, NULL, NULL, NULL);
    return c;
}

static int get(void *c, const char *key, void *buf, size_t cap, size_t *len) {
    int rc = mmf_get(((struct mmf_bench_conn *)c)->ns, key, buf, cap, len);
    return rc == MMF_ENOTFOUND ? BENCH_NOTFOUND : rc;
}

static int set(void *c, const char *key, const void *val, size_t len) {
    return mmf_set(((struct mmf_bench_conn *)c)->ns, key, val, len);
}

static int incr(void *c, const char *key) {
    return mmf_add_i64(((struct mmf_bench_conn *)c)->ns, key, 1, NULL);
}

static void disconnect(void *vc) {
    struct mmf_bench_conn *c = vc;
    mmf_close(c->ns);
    free(c);
}

/* churn and growth: a namespace of their own, "NAME.s" */
static void empty_name(const bench_cfg *cfg, char *buf, size_t n) {
    snprintf(buf, n, "%s.s", cfg->name);
}

static void *open_empty(const bench_cfg *cfg, unsigned presize, unsigned most) {
    (void)most; /* it grows to what it needs, up to the default max_size (1 GiB) */
    char name[128];
    empty_name(cfg, name, sizeof name);
    mmf_unlink(name, NULL);
    struct mmf_bench_conn *c = calloc(1, sizeof *c);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.exclusive = true;
    if (presize) { /* as the loaded namespace is made (open_ns): room for them all */
        o.max_vars = presize;
        o.size = (uint64_t)(presize + 64) * (cfg->value > 64 ? 2u * (cfg->value * 2 + 64) : 512u) +
                 (16u << 20);
    }
    int rc = c ? mmf_open(&o, &c->ns) : MMF_ENOMEM;
    if (rc) {
        fprintf(stderr, "mmf: %s\n", mmf_strerror(rc));
        free(c);
        return NULL;
    }
    return c;
}

static void close_empty(void *c, const bench_cfg *cfg) {
    char name[128];
    disconnect(c);
    empty_name(cfg, name, sizeof name);
    mmf_unlink(name, NULL);
}

static int del(void *c, const char *key) {
    int rc = mmf_delete(((struct mmf_bench_conn *)c)->ns, key);
    return rc == MMF_ENOTFOUND ? BENCH_NOTFOUND : rc;
}

static int stats(void *c, bench_stats *st) {
    mmf_stats s;
    int rc = mmf_stat(((struct mmf_bench_conn *)c)->ns, &s);
    if (rc) return rc;
    *st = (bench_stats){s.size, s.vars, s.max_vars, s.tombstones, s.grows, s.index_rebuilds};
    return 0;
}

/* no subscribe: connect already read the versions recv and subscribe_next
   wait past, before any process of the run starts */
const bench_backend backend_mmf = {.name = "mmf",
                                   .unavailable = mmf_bench_unavailable,
                                   .prepare = mmf_bench_prepare,
                                   .connect = connect_,
                                   .get = get,
                                   .set = set,
                                   .incr = incr,
                                   .send = mmf_bench_send,
                                   .recv = mmf_bench_recv,
                                   .publish = mmf_bench_publish,
                                   .subscribe_next = mmf_bench_subscribe_next,
                                   .disconnect = disconnect,
                                   .cleanup = mmf_bench_cleanup,
                                   .open_empty = open_empty,
                                   .close_empty = close_empty,
                                   .del = del,
                                   .stats = stats};

void bench_key(char *buf, unsigned i) {
    snprintf(buf, 17, "key:%012u", i);
}
