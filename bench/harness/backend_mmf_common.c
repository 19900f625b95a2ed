/* What mmf's three systems share (backend_mmf_common.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_mmf_common.h"

const char *mmf_bench_unavailable(void) {
    return NULL;
}

int mmf_bench_open(const bench_cfg *cfg, bool create, mmf **ns) {
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
    int rc = mmf_bench_open(cfg, true, &ns);
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

void mmf_bench_cleanup(const bench_cfg *cfg) {
    mmf_unlink(cfg->name, NULL);
}

static int msg_read(const struct mmf_bench_msg *m, uint64_t *msg, uint64_t *version) {
    size_t len;
    if (m->var) return mmf_var_get(m->var, msg, sizeof *msg, &len, version);
    return mmf_get_v(m->ns, m->key, msg, sizeof *msg, &len, version);
}

static void msg_init(struct mmf_bench_msg *m, mmf *ns, const char *key, mmf_var *var) {
    m->ns = ns;
    m->key = key;
    m->var = var;
    uint64_t v;
    msg_read(m, &v, &m->seen);
}

void mmf_bench_conn_init(struct mmf_bench_conn *c, mmf_var *side0, mmf_var *side1,
                         mmf_var *published) {
    msg_init(&c->side[0], c->ns, "side.0", side0);
    msg_init(&c->side[1], c->ns, "side.1", side1);
    msg_init(&c->published, c->ns, "published", published);
}

static int msg_write(const struct mmf_bench_msg *m, uint64_t msg) {
    if (m->var) return mmf_var_set(m->var, &msg, sizeof msg);
    return mmf_set(m->ns, m->key, &msg, sizeof msg);
}

/* Waits (spinning or sleeping, as the view says) until the version moves
   past m->seen, then takes the value. */
static int msg_next(struct mmf_bench_msg *m, uint64_t *msg) {
    uint64_t v = m->seen;
    for (;;) {
        int rc = msg_read(m, msg, &v);
        if (rc == MMF_OK && v != m->seen) {
            m->seen = v;
            return 0;
        }
        if (rc != MMF_OK && rc != MMF_ENOTFOUND) return rc;
        rc = m->var ? mmf_var_wait(m->var, m->seen, 5) : mmf_wait(m->ns, m->key, m->seen, 5);
        if (rc) return rc;
    }
}

int mmf_bench_send(void *c, int side, uint64_t msg) {
    return msg_write(&((struct mmf_bench_conn *)c)->side[side], msg);
}

int mmf_bench_recv(void *c, int side, uint64_t *msg) {
    return msg_next(&((struct mmf_bench_conn *)c)->side[!side], msg);
}

int mmf_bench_publish(void *c, uint64_t msg) {
    return msg_write(&((struct mmf_bench_conn *)c)->published, msg);
}

int mmf_bench_subscribe_next(void *c, uint64_t *msg) {
    return msg_next(&((struct mmf_bench_conn *)c)->published, msg);
}
