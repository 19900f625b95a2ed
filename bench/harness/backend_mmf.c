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
    return mmf_get(((struct mmf_bench_conn *)c)->ns, key, buf, cap, len);
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
                                   .cleanup = mmf_bench_cleanup};

void bench_key(char *buf, unsigned i) {
    snprintf(buf, 17, "key:%012u", i);
}
