/* mmf itself. Ping-pong and publish sleep in mmf_wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mmf.h"

struct conn {
    mmf *ns;
    uint64_t seen[2]; /* last versions of "side.0", "side.1" */
    uint64_t pub_seen;
};

static const char *unavailable(void) {
    return NULL;
}

static int open_ns(const bench_cfg *cfg, bool create, mmf **ns) {
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = cfg->name;
    o.reuse = !create;
    o.exclusive = create;
    o.max_vars = cfg->keys + 64;
    o.size = (uint64_t)(cfg->keys + 64) * (cfg->value > 64 ? 2u * (cfg->value * 2 + 64) : 512u) +
             (16u << 20);
    return mmf_open(&o, ns);
}

int mmf_bench_prepare(const bench_cfg *cfg) {
    mmf_unlink(cfg->name, NULL);
    mmf *ns;
    int rc = open_ns(cfg, true, &ns);
    if (rc) {
        fprintf(stderr, "mmf: %s\n", mmf_strerror(rc));
        return -1;
    }
    char key[17];
    unsigned char *v = calloc(1, cfg->value);
    for (unsigned i = 0; i < cfg->keys && !rc; i++) {
        bench_key(key, i);
        memcpy(v, &i, sizeof i < cfg->value ? sizeof i : cfg->value);
        rc = mmf_set(ns, key, v, cfg->value);
    }
    if (!rc) rc = mmf_set(ns, "hot", v, cfg->value);
    free(v);
    mmf_close(ns);
    return rc ? -1 : 0;
}

static void *connect_(const bench_cfg *cfg) {
    struct conn *c = calloc(1, sizeof *c);
    if (open_ns(cfg, false, &c->ns)) {
        free(c);
        return NULL;
    }
    size_t len;
    uint64_t v;
    mmf_get_v(c->ns, "side.0", &v, sizeof v, &len, &c->seen[0]);
    mmf_get_v(c->ns, "side.1", &v, sizeof v, &len, &c->seen[1]);
    mmf_get_v(c->ns, "published", &v, sizeof v, &len, &c->pub_seen);
    return c;
}

static int get(void *c, const char *key, void *buf, size_t cap, size_t *len) {
    int rc = mmf_get(((struct conn *)c)->ns, key, buf, cap, len);
    return rc == MMF_ENOTFOUND ? BENCH_NOTFOUND : rc;
}

static int set(void *c, const char *key, const void *val, size_t len) {
    return mmf_set(((struct conn *)c)->ns, key, val, len);
}

static int incr(void *c, const char *key) {
    return mmf_add_i64(((struct conn *)c)->ns, key, 1, NULL);
}

static int send(void *vc, int side, uint64_t msg) {
    struct conn *c = vc;
    return mmf_set(c->ns, side ? "side.1" : "side.0", &msg, sizeof msg);
}

/* sleeps until key's version moves past *seen, then reads it */
static int next_value(mmf *ns, const char *key, uint64_t *seen, uint64_t *msg) {
    size_t len;
    uint64_t v = *seen;
    for (;;) {
        int rc = mmf_get_v(ns, key, msg, sizeof *msg, &len, &v);
        if (rc == MMF_OK && v != *seen) {
            *seen = v;
            return 0;
        }
        if (rc != MMF_OK && rc != MMF_ENOTFOUND) return rc;
        rc = mmf_wait(ns, key, *seen, 5);
        if (rc) return rc;
    }
}

static int recv(void *vc, int side, uint64_t *msg) {
    struct conn *c = vc;
    int other = !side;
    return next_value(c->ns, other ? "side.1" : "side.0", &c->seen[other], msg);
}

static int publish(void *vc, uint64_t msg) {
    return mmf_set(((struct conn *)vc)->ns, "published", &msg, sizeof msg);
}

static int subscribe_next(void *vc, uint64_t *msg) {
    struct conn *c = vc;
    return next_value(c->ns, "published", &c->pub_seen, msg);
}

static void disconnect(void *vc) {
    struct conn *c = vc;
    mmf_close(c->ns);
    free(c);
}

void mmf_bench_cleanup(const bench_cfg *cfg) {
    mmf_unlink(cfg->name, NULL);
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
    struct conn *c = calloc(1, sizeof *c);
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
    int rc = mmf_delete(((struct conn *)c)->ns, key);
    return rc == MMF_ENOTFOUND ? BENCH_NOTFOUND : rc;
}

static int stats(void *c, bench_stats *st) {
    mmf_stats s;
    int rc = mmf_stat(((struct conn *)c)->ns, &s);
    if (rc) return rc;
    *st = (bench_stats){s.size, s.vars, s.max_vars, s.tombstones, s.grows, s.index_rebuilds};
    return 0;
}

/* no subscribe: connect already read the versions recv and subscribe_next
   wait past, before any process of the run starts */
const bench_backend backend_mmf = {.name = "mmf",
                                   .unavailable = unavailable,
                                   .prepare = mmf_bench_prepare,
                                   .connect = connect_,
                                   .get = get,
                                   .set = set,
                                   .incr = incr,
                                   .send = send,
                                   .recv = recv,
                                   .publish = publish,
                                   .subscribe_next = subscribe_next,
                                   .disconnect = disconnect,
                                   .cleanup = mmf_bench_cleanup,
                                   .open_empty = open_empty,
                                   .close_empty = close_empty,
                                   .del = del,
                                   .stats = stats};

void bench_key(char *buf, unsigned i) {
    snprintf(buf, 17, "key:%012u", i);
}
