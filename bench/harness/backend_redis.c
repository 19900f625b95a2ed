/* Redis over a unix socket: the harness starts its own redis-server (no
   persistence) in the scratch directory and stops it after the run.
   Ping-pong is LPUSH / BRPOP, publish is PUBLISH / SUBSCRIBE. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

#ifdef MMF_BENCH_HAVE_HIREDIS
#include <hiredis/hiredis.h>

#define SERVER "/usr/bin/redis-server"

static pid_t server; /* the bench program's own child, between prepare and cleanup */

struct conn {
    redisContext *r;
    int subscribed;
};

static const char *unavailable(void) {
    return access(SERVER, X_OK) ? "redis-server is not installed (apt-get install redis-server)"
                                : NULL;
}

static void socket_path(const bench_cfg *cfg, char *buf, size_t n) {
    snprintf(buf, n, "%s/redis.sock", cfg->dir);
}

static redisContext *dial(const bench_cfg *cfg) {
    char sock[512];
    socket_path(cfg, sock, sizeof sock);
    redisContext *r = redisConnectUnix(sock);
    if (r && r->err) {
        redisFree(r);
        return NULL;
    }
    return r;
}

static int prepare(const bench_cfg *cfg) {
    char sock[512];
    socket_path(cfg, sock, sizeof sock);
    server = fork();
    if (server == 0) {
        FILE *devnull = freopen("/dev/null", "w", stdout);
        (void)devnull;
        execl(SERVER, SERVER, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
              "--save", "", "--appendonly", "no", "--dir", cfg->dir, (char *)NULL);
        _exit(127);
    }
    redisContext *r = NULL;
    for (int i = 0; i < 500 && !r; i++) { /* up to 5 s for it to listen */
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        r = dial(cfg);
    }
    if (!r) return -1;
    unsigned char *v = calloc(1, cfg->value);
    char key[17];
    for (unsigned i = 0; i < cfg->keys; i++) {
        bench_key(key, i);
        redisAppendCommand(r, "SET %s %b", key, v, (size_t)cfg->value);
    }
    redisAppendCommand(r, "SET hot %b", v, (size_t)cfg->value);
    int rc = 0;
    for (unsigned i = 0; i <= cfg->keys; i++) {
        redisReply *reply;
        if (redisGetReply(r, (void **)&reply) != REDIS_OK)
            rc = -1;
        else
            freeReplyObject(reply);
    }
    free(v);
    redisFree(r);
    return rc;
}

static void *connect_(const bench_cfg *cfg) {
    struct conn *c = calloc(1, sizeof *c);
    if (!(c->r = dial(cfg))) {
        free(c);
        return NULL;
    }
    return c;
}

static int get(void *vc, const char *key, void *buf, size_t cap, size_t *len) {
    struct conn *c = vc;
    redisReply *r = redisCommand(c->r, "GET %s", key);
    int rc = !r ? -1 : r->type == REDIS_REPLY_NIL ? BENCH_NOTFOUND : r->type != REDIS_REPLY_STRING;
    if (!rc) {
        *len = r->len;
        memcpy(buf, r->str, r->len < cap ? r->len : cap);
    }
    if (r) freeReplyObject(r);
    return rc;
}

static int simple(struct conn *c, redisReply *r) {
    (void)c;
    int rc = !r || r->type == REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    return rc;
}

static int set(void *vc, const char *key, const void *val, size_t len) {
    struct conn *c = vc;
    return simple(c, redisCommand(c->r, "SET %s %b", key, val, len));
}

static int incr(void *vc, const char *key) {
    struct conn *c = vc;
    return simple(c, redisCommand(c->r, "INCR %s", key));
}

static int send(void *vc, int side, uint64_t msg) {
    struct conn *c = vc;
    return simple(c, redisCommand(c->r, "LPUSH side.%d %llu", side, (unsigned long long)msg));
}

static int recv(void *vc, int side, uint64_t *msg) {
    struct conn *c = vc;
    redisReply *r = redisCommand(c->r, "BRPOP side.%d 5", !side);
    int rc = !r || r->type != REDIS_REPLY_ARRAY || r->elements != 2;
    if (!rc) *msg = strtoull(r->element[1]->str, NULL, 10);
    if (r) freeReplyObject(r);
    return rc;
}

static int publish(void *vc, uint64_t msg) {
    struct conn *c = vc;
    return simple(c, redisCommand(c->r, "PUBLISH published %llu", (unsigned long long)msg));
}

/* returns once the server confirmed: later PUBLISHes reach this connection */
static int subscribe(void *vc) {
    struct conn *c = vc;
    if (c->subscribed) return 0;
    if (simple(c, redisCommand(c->r, "SUBSCRIBE published"))) return -1;
    c->subscribed = 1;
    return 0;
}

static int subscribe_next(void *vc, uint64_t *msg) {
    struct conn *c = vc;
    redisReply *r;
    if (subscribe(c)) return -1;
    if (redisGetReply(c->r, (void **)&r) != REDIS_OK) return -1;
    int rc = r->type != REDIS_REPLY_ARRAY || r->elements != 3;
    if (!rc) *msg = strtoull(r->element[2]->str, NULL, 10);
    freeReplyObject(r);
    return rc;
}

static void disconnect(void *vc) {
    struct conn *c = vc;
    redisFree(c->r);
    free(c);
}

/* growth: database 1 of the same server, emptied before and after. No
   churn: a round trip per operation would stretch its 2 M pairs to minutes */
static void *open_empty(const bench_cfg *cfg, unsigned presize, unsigned most) {
    (void)presize, (void)most;
    struct conn *c = connect_(cfg);
    if (c &&
        (simple(c, redisCommand(c->r, "SELECT 1")) || simple(c, redisCommand(c->r, "FLUSHDB")))) {
        disconnect(c);
        return NULL;
    }
    return c;
}

static void close_empty(void *vc, const bench_cfg *cfg) {
    struct conn *c = vc;
    (void)cfg;
    simple(c, redisCommand(c->r, "FLUSHDB"));
    disconnect(c);
}

static void cleanup(const bench_cfg *cfg) {
    (void)cfg;
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
        server = 0;
    }
}

const bench_backend backend_redis = {.name = "redis",
                                     .unavailable = unavailable,
                                     .prepare = prepare,
                                     .connect = connect_,
                                     .get = get,
                                     .set = set,
                                     .incr = incr,
                                     .send = send,
                                     .recv = recv,
                                     .publish = publish,
                                     .subscribe = subscribe,
                                     .subscribe_next = subscribe_next,
                                     .disconnect = disconnect,
                                     .cleanup = cleanup,
                                     .open_empty = open_empty,
                                     .close_empty = close_empty};
#else
static const char *unavailable(void) {
    return "built without hiredis (install libhiredis-dev and rebuild)";
}
const bench_backend backend_redis = {"redis", unavailable};
#endif
