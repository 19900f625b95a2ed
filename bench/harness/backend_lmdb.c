/* LMDB: one environment shared by the processes. Gets reuse one read
   transaction (reset/renew around each get, so each sees the latest commit);
   puts commit one write transaction each, MDB_NOSYNC | MDB_WRITEMAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#ifdef MMF_BENCH_HAVE_LMDB
#include <lmdb.h>

struct conn {
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *rtxn;
};

static const char *unavailable(void) {
    return NULL;
}

static int open_env_at(const bench_cfg *cfg, const char *file, unsigned keys, MDB_env **env) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", cfg->dir, file);
    size_t map = ((size_t)keys * (cfg->value + 128) * 4 + (64u << 20));
    if (mdb_env_create(env) || mdb_env_set_mapsize(*env, map) || mdb_env_set_maxreaders(*env, 256))
        return -1;
    if (mdb_env_open(*env, path, MDB_NOSUBDIR | MDB_NOSYNC | MDB_WRITEMAP | MDB_NOTLS, 0600)) {
        mdb_env_close(*env);
        return -1;
    }
    return 0;
}

static int open_env(const bench_cfg *cfg, MDB_env **env) {
    return open_env_at(cfg, "lmdb", cfg->keys, env);
}

static int put(MDB_env *env, MDB_dbi dbi, const char *key, const void *val, size_t len) {
    MDB_txn *t;
    if (mdb_txn_begin(env, NULL, 0, &t)) return -1;
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val};
    if (mdb_put(t, dbi, &k, &v, 0)) {
        mdb_txn_abort(t);
        return -1;
    }
    return mdb_txn_commit(t);
}

static void cleanup(const bench_cfg *cfg);

static int prepare(const bench_cfg *cfg) {
    cleanup(cfg); /* a fresh environment */
    MDB_env *env;
    if (open_env(cfg, &env)) return -1;
    MDB_txn *t;
    MDB_dbi dbi;
    if (mdb_txn_begin(env, NULL, 0, &t) || mdb_dbi_open(t, NULL, 0, &dbi)) return -1;
    unsigned char *v = calloc(1, cfg->value);
    char key[17];
    int rc = 0;
    for (unsigned i = 0; i < cfg->keys && !rc; i++) {
        bench_key(key, i);
        MDB_val k = {16, key}, val = {cfg->value, v};
        rc = mdb_put(t, dbi, &k, &val, 0);
    }
    MDB_val k = {3, "hot"}, val = {cfg->value, v};
    if (!rc) rc = mdb_put(t, dbi, &k, &val, 0);
    free(v);
    rc = rc ? (mdb_txn_abort(t), rc) : mdb_txn_commit(t);
    mdb_env_close(env);
    return rc ? -1 : 0;
}

static void *connect_(const bench_cfg *cfg) {
    struct conn *c = calloc(1, sizeof *c);
    MDB_txn *t;
    if (open_env(cfg, &c->env) || mdb_txn_begin(c->env, NULL, MDB_RDONLY, &t) ||
        mdb_dbi_open(t, NULL, 0, &c->dbi)) {
        free(c);
        return NULL;
    }
    mdb_txn_commit(t);
    if (mdb_txn_begin(c->env, NULL, MDB_RDONLY, &c->rtxn)) return NULL;
    mdb_txn_reset(c->rtxn);
    return c;
}

static int get(void *vc, const char *key, void *buf, size_t cap, size_t *len) {
    struct conn *c = vc;
    if (mdb_txn_renew(c->rtxn)) return -1;
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(c->rtxn, c->dbi, &k, &v);
    if (rc == MDB_NOTFOUND) rc = BENCH_NOTFOUND;
    if (!rc) {
        *len = v.mv_size;
        memcpy(buf, v.mv_data, v.mv_size < cap ? v.mv_size : cap);
    }
    mdb_txn_reset(c->rtxn);
    return rc;
}

static int set(void *vc, const char *key, const void *val, size_t len) {
    struct conn *c = vc;
    return put(c->env, c->dbi, key, val, len);
}

static int incr(void *vc, const char *key) {
    struct conn *c = vc;
    MDB_txn *t;
    if (mdb_txn_begin(c->env, NULL, 0, &t)) return -1;
    MDB_val k = {strlen(key), (void *)key}, v;
    int64_t n = 0;
    if (mdb_get(t, c->dbi, &k, &v) == 0 && v.mv_size == sizeof n) memcpy(&n, v.mv_data, sizeof n);
    n++;
    v.mv_size = sizeof n;
    v.mv_data = &n;
    if (mdb_put(t, c->dbi, &k, &v, 0)) {
        mdb_txn_abort(t);
        return -1;
    }
    return mdb_txn_commit(t);
}

static void disconnect(void *vc) {
    struct conn *c = vc;
    mdb_txn_abort(c->rtxn);
    mdb_env_close(c->env);
    free(c);
}

static void remove_env(const bench_cfg *cfg, const char *file) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", cfg->dir, file);
    remove(path);
    snprintf(path, sizeof path, "%s/%s-lock", cfg->dir, file);
    remove(path);
}

static void cleanup(const bench_cfg *cfg) {
    remove_env(cfg, "lmdb");
}

/* churn and growth: an environment of their own, "lmdb-s", its map sized for
   most keys (a reservation: the file fills as pages are used) */
static void *open_empty(const bench_cfg *cfg, unsigned presize, unsigned most) {
    (void)presize;
    remove_env(cfg, "lmdb-s");
    struct conn *c = calloc(1, sizeof *c);
    MDB_txn *t;
    if (!c) return NULL;
    if (open_env_at(cfg, "lmdb-s", most, &c->env)) {
        free(c);
        return NULL;
    }
    if (mdb_txn_begin(c->env, NULL, 0, &t) || mdb_dbi_open(t, NULL, 0, &c->dbi) ||
        mdb_txn_commit(t) || mdb_txn_begin(c->env, NULL, MDB_RDONLY, &c->rtxn)) {
        mdb_env_close(c->env);
        free(c);
        return NULL;
    }
    mdb_txn_reset(c->rtxn);
    return c;
}

static void close_empty(void *c, const bench_cfg *cfg) {
    disconnect(c);
    remove_env(cfg, "lmdb-s");
}

/* one write transaction per delete, as per put */
static int del(void *vc, const char *key) {
    struct conn *c = vc;
    MDB_txn *t;
    if (mdb_txn_begin(c->env, NULL, 0, &t)) return -1;
    MDB_val k = {strlen(key), (void *)key};
    int rc = mdb_del(t, c->dbi, &k, NULL);
    if (rc) {
        mdb_txn_abort(t);
        return rc == MDB_NOTFOUND ? BENCH_NOTFOUND : -1;
    }
    return mdb_txn_commit(t);
}

const bench_backend backend_lmdb = {.name = "lmdb",
                                    .unavailable = unavailable,
                                    .prepare = prepare,
                                    .connect = connect_,
                                    .get = get,
                                    .set = set,
                                    .incr = incr,
                                    .disconnect = disconnect,
                                    .cleanup = cleanup,
                                    .open_empty = open_empty,
                                    .close_empty = close_empty,
                                    .del = del};
#else
static const char *unavailable(void) {
    return "built without LMDB (install liblmdb-dev and rebuild)";
}
const bench_backend backend_lmdb = {"lmdb", unavailable};
#endif
