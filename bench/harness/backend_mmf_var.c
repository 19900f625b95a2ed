/*
 * mmf through variable handles (mmf_var_*): every key the workloads use gets
 * a handle when a process connects (before the gate, so not timed), and the
 * operations go through it by index (backend.h, get_at). Two systems:
 * "mmf-var" waits sleeping (spin 0), "mmf-spin" waits spinning (spin 1 s,
 * one core per waiter) and runs only the two waiting workloads.
 */
#include <stdio.h>
#include <stdlib.h>

#include "backend_mmf_common.h"

struct conn {
    struct mmf_bench_conn base; /* first: the view and the message handles */
    unsigned n;                 /* handles: keys, then "hot", then 4 counters */
    mmf_var **var;              /* by index */
};

static void *connect_spin(const bench_cfg *cfg, double spin) {
    struct conn *c = calloc(1, sizeof *c);
    char spec[256], key[17];
    snprintf(spec, sizeof spec, "name=%s reuse=1 spin=%g", cfg->name, spin);
    if (!c || mmf_open_spec(spec, &c->base.ns)) {
        free(c);
        return NULL;
    }
    mmf *ns = c->base.ns;
    c->n = cfg->keys + 5;
    c->var = calloc(c->n, sizeof *c->var);
    int rc = c->var ? 0 : MMF_ENOMEM;
    for (unsigned i = 0; i < c->n && !rc; i++) {
        if (i < cfg->keys)
            bench_key(key, i);
        else if (i == cfg->keys)
            snprintf(key, sizeof key, "hot");
        else
            snprintf(key, sizeof key, "counter.%u", (i - cfg->keys - 1) % 4u);
        rc = mmf_var_open(ns, key, &c->var[i]);
    }
    mmf_var *side0 = NULL, *side1 = NULL, *published = NULL;
    if (!rc) rc = mmf_var_open(ns, "side.0", &side0);
    if (!rc) rc = mmf_var_open(ns, "side.1", &side1);
    if (!rc) rc = mmf_var_open(ns, "published", &published);
    if (rc) {
        fprintf(stderr, "mmf-var: %s\n", mmf_strerror(rc));
        return NULL; /* the run fails; the process exits */
    }
    mmf_bench_conn_init(&c->base, side0, side1, published);
    return c;
}

static void *connect_sleeping(const bench_cfg *cfg) {
    return connect_spin(cfg, 0);
}

static void *connect_spinning(const bench_cfg *cfg) {
    return connect_spin(cfg, 1.0);
}

static int get_at(void *c, unsigned i, void *buf, size_t cap, size_t *len) {
    return mmf_var_get(((struct conn *)c)->var[i], buf, cap, len, NULL);
}

static int set_at(void *c, unsigned i, const void *val, size_t len) {
    return mmf_var_set(((struct conn *)c)->var[i], val, len);
}

static int incr_at(void *c, unsigned i) {
    return mmf_var_add_i64(((struct conn *)c)->var[i], 1, NULL);
}

static void disconnect(void *vc) {
    struct conn *c = vc;
    for (unsigned i = 0; i < c->n; i++)
        mmf_var_close(c->var[i]);
    mmf_var_close(c->base.side[0].var);
    mmf_var_close(c->base.side[1].var);
    mmf_var_close(c->base.published.var);
    free(c->var);
    mmf_close(c->base.ns);
    free(c);
}

/* send, recv, publish and subscribe_next through the message handles
   (backend_mmf_common.c); no subscribe: connect read their versions */
const bench_backend backend_mmf_var = {.name = "mmf-var",
                                       .unavailable = mmf_bench_unavailable,
                                       .prepare = mmf_bench_prepare,
                                       .connect = connect_sleeping,
                                       .get_at = get_at,
                                       .set_at = set_at,
                                       .incr_at = incr_at,
                                       .send = mmf_bench_send,
                                       .recv = mmf_bench_recv,
                                       .publish = mmf_bench_publish,
                                       .subscribe_next = mmf_bench_subscribe_next,
                                       .disconnect = disconnect,
                                       .cleanup = mmf_bench_cleanup};

const bench_backend backend_mmf_spin = {.name = "mmf-spin",
                                        .unavailable = mmf_bench_unavailable,
                                        .prepare = mmf_bench_prepare,
                                        .connect = connect_spinning,
                                        .send = mmf_bench_send,
                                        .recv = mmf_bench_recv,
                                        .publish = mmf_bench_publish,
                                        .subscribe_next = mmf_bench_subscribe_next,
                                        .disconnect = disconnect,
                                        .cleanup = mmf_bench_cleanup};
