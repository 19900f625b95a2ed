/*
 * mmf through variable handles (mmf_var_*): every key the workloads use gets
 * a handle when a process connects (before the gate, so not timed), and the
 * operations go through it by index (backend.h, get_at). Two systems:
 * "mmf-var" waits sleeping (spin 0), "mmf-spin" waits spinning (spin 1 s,
 * one core per waiter) and runs only the two waiting workloads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mmf.h"

struct conn {
    mmf *ns;
    unsigned n;    /* handles: keys, then "hot", then 4 counters */
    mmf_var **var; /* by index */
    mmf_var *side[2], *published;
    uint64_t seen[2], pub_seen;
};

static const char *unavailable(void) {
    return NULL;
}

static void *connect_spin(const bench_cfg *cfg, double spin) {
    struct conn *c = calloc(1, sizeof *c);
    char spec[256], key[17];
    snprintf(spec, sizeof spec, "name=%s reuse=1 spin=%g", cfg->name, spin);
    if (!c || mmf_open_spec(spec, &c->ns)) {
        free(c);
        return NULL;
    }
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
        rc = mmf_var_open(c->ns, key, &c->var[i]);
    }
    if (!rc) rc = mmf_var_open(c->ns, "side.0", &c->side[0]);
    if (!rc) rc = mmf_var_open(c->ns, "side.1", &c->side[1]);
    if (!rc) rc = mmf_var_open(c->ns, "published", &c->published);
    if (rc) {
        fprintf(stderr, "mmf-var: %s\n", mmf_strerror(rc));
        return NULL; /* the run fails; the process exits */
    }
    size_t len;
    uint64_t v;
    mmf_var_get(c->side[0], &v, sizeof v, &len, &c->seen[0]);
    mmf_var_get(c->side[1], &v, sizeof v, &len, &c->seen[1]);
    mmf_var_get(c->published, &v, sizeof v, &len, &c->pub_seen);
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

static int send(void *vc, int side, uint64_t msg) {
    struct conn *c = vc;
    return mmf_var_set(c->side[side], &msg, sizeof msg);
}

/* waits (spinning or sleeping, as the view says) until the version moves
   past *seen, then reads it */
static int next_value(mmf_var *v, uint64_t *seen, uint64_t *msg) {
    size_t len;
    uint64_t ver = *seen;
    for (;;) {
        int rc = mmf_var_get(v, msg, sizeof *msg, &len, &ver);
        if (rc == MMF_OK && ver != *seen) {
            *seen = ver;
            return 0;
        }
        if (rc != MMF_OK && rc != MMF_ENOTFOUND) return rc;
        rc = mmf_var_wait(v, *seen, 5);
        if (rc) return rc;
    }
}

static int recv(void *vc, int side, uint64_t *msg) {
    struct conn *c = vc;
    return next_value(c->side[!side], &c->seen[!side], msg);
}

static int publish(void *vc, uint64_t msg) {
    return mmf_var_set(((struct conn *)vc)->published, &msg, sizeof msg);
}

static int subscribe_next(void *vc, uint64_t *msg) {
    struct conn *c = vc;
    return next_value(c->published, &c->pub_seen, msg);
}

static void disconnect(void *vc) {
    struct conn *c = vc;
    for (unsigned i = 0; i < c->n; i++)
        mmf_var_close(c->var[i]);
    mmf_var_close(c->side[0]);
    mmf_var_close(c->side[1]);
    mmf_var_close(c->published);
    free(c->var);
    mmf_close(c->ns);
    free(c);
}

const bench_backend backend_mmf_var = {.name = "mmf-var",
                                       .unavailable = unavailable,
                                       .prepare = mmf_bench_prepare,
                                       .connect = connect_sleeping,
                                       .get_at = get_at,
                                       .set_at = set_at,
                                       .incr_at = incr_at,
                                       .send = send,
                                       .recv = recv,
                                       .publish = publish,
                                       .subscribe_next = subscribe_next,
                                       .disconnect = disconnect,
                                       .cleanup = mmf_bench_cleanup};

const bench_backend backend_mmf_spin = {.name = "mmf-spin",
                                        .unavailable = unavailable,
                                        .prepare = mmf_bench_prepare,
                                        .connect = connect_spinning,
                                        .send = send,
                                        .recv = recv,
                                        .publish = publish,
                                        .subscribe_next = subscribe_next,
                                        .disconnect = disconnect,
                                        .cleanup = mmf_bench_cleanup};
