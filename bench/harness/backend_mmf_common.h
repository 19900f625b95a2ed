/*
 * What mmf's three systems share: "mmf" (backend_mmf.c, by name), "mmf-var"
 * and "mmf-spin" (backend_mmf_var.c, through variable handles). The load and
 * removal of the run's namespace, and the message variables of ping-pong and
 * publish ("side.0", "side.1", "published"), each written, read and waited
 * for by name or through a handle. The waits sleep in mmf_wait /
 * mmf_var_wait (or spin first, as the view's spin says).
 */
#ifndef MMF_BENCH_BACKEND_MMF_COMMON_H
#define MMF_BENCH_BACKEND_MMF_COMMON_H

#include "backend.h"
#include "mmf.h"

/* NULL: mmf runs wherever the harness does. */
const char *mmf_bench_unavailable(void);

/* Opens the run's namespace: creates it anew (exclusive, sized for cfg's
   keys and values) or attaches to it (reuse). An MMF_E* code. */
int mmf_bench_open(const bench_cfg *cfg, bool create, mmf **ns);

/* prepare: creates the namespace and loads the keys and "hot"; cleanup:
   removes it. */
int mmf_bench_prepare(const bench_cfg *cfg);
void mmf_bench_cleanup(const bench_cfg *cfg);

/* One message variable: by name (var NULL) or through the handle var; seen
   is the version last taken from it. */
struct mmf_bench_msg {
    mmf *ns;
    const char *key;
    mmf_var *var;
    uint64_t seen;
};

/* What every mmf connection starts with (the harness's void *c points to
   one): its view and its message variables. */
struct mmf_bench_conn {
    mmf *ns;
    struct mmf_bench_msg side[2], published;
};

/* Sets up c's message variables on c->ns, through the handles given (all
   three, or NULL for by name), and reads their versions now: connect runs
   before any process of the run starts, so recv and subscribe_next wait
   past what was there before (no subscribe needed). */
void mmf_bench_conn_init(struct mmf_bench_conn *c, mmf_var *side0, mmf_var *side1,
                         mmf_var *published);

/* The harness's send, recv, publish and subscribe_next (backend.h) on a
   struct mmf_bench_conn. */
int mmf_bench_send(void *c, int side, uint64_t msg);
int mmf_bench_recv(void *c, int side, uint64_t *msg);
int mmf_bench_publish(void *c, uint64_t msg);
int mmf_bench_subscribe_next(void *c, uint64_t *msg);

#endif
