/* Workloads: what each process of a run does, and what a run yields. */
#ifndef MMF_BENCH_WORKLOAD_H
#define MMF_BENCH_WORKLOAD_H

#include "backend.h"
#include "hist.h"

#define MAX_PROCS 16

typedef enum {
    W_READ_ONLY,  /* every process reads random keys */
    W_READ95,     /* 95% reads, 5% writes of random keys */
    W_READ50,     /* 50% reads, 50% writes */
    W_HOT_KEY,    /* process 0 rewrites "hot"; the others read it (a quote) */
    W_HOT_OTHERS, /* process 0 rewrites "hot"; the others read other keys */
    W_COUNTERS,   /* every process increments one of 4 counters */
    W_PINGPONG,   /* two processes bounce a message; latency = round trip */
    W_PUBLISH,    /* process 0 publishes 1000/s; the others sleep until woken */
} workload_kind;

typedef struct workload {
    const char *name, *what;
    workload_kind kind;
    int procs;
} workload;

/* what one process measured */
typedef struct proc_result {
    uint64_t ops, errors;
    double seconds;
    int measured; /* its latencies count in the run's figures */
    hist h;
} proc_result;

typedef struct run_result {
    const char *system, *workload;
    workload_kind kind;
    int procs;
    int skipped;
    char why[160];
    uint64_t ops, errors; /* of the measured processes */
    double ops_per_s;     /* summed over the measured processes */
    uint64_t p50, p90, p99, p999, max;
    proc_result per[MAX_PROCS];
} run_result;

/* Runs w against b (already prepared) for seconds; rate > 0 paces every
   process to rate operations per second and measures latency from when
   each operation was due (no coordinated omission). */
void run_workload(const bench_backend *b, const bench_cfg *cfg, const workload *w, double seconds,
                  double rate, run_result *out);

uint64_t now_ns(void);
/* Measures (once, before forking) the cheapest pair of clock reads, which
   every latency recorded afterwards has taken off. */
uint64_t measure_clock_cost(void);
/* now_ns() - t0, less that cost */
uint64_t latency_since(uint64_t t0);

/* Structural workloads (structural.c): one process on an empty store of the
   system's own (backend.h, open_empty), every operation timed. */

/* churn: a store made for `capacity` keys holds `live` of them (0.92 of it)
   while `pairs` times the oldest is deleted and a new one inserted, each pair
   followed by a get of a present key and one of a key never inserted. The
   gets are also measured alone (`samples` of each) on the freshly filled
   store and again after the churn: a miss that costs more after than before
   is one that probes past what deletes left behind. */
typedef struct churn_result {
    const char *system;
    int skipped;
    char why[160];
    unsigned capacity, live;
    uint64_t pairs, samples, errors;
    double seconds; /* the churn, gets included */
    hist before_hit, before_miss, hit, miss, insert, del, after_hit, after_miss;
    int have_stats;
    bench_stats filled, end; /* after the fill, after everything */
} churn_result;

/* growth: `keys` inserts into an empty store, one at a time; presize 0
   starts it where the system starts one by default */
typedef struct growth_result {
    const char *system;
    int skipped;
    char why[160];
    unsigned keys, presize;
    uint64_t errors, worst_at; /* worst_at: which insert was the slowest */
    double seconds;
    hist insert;
    int have_stats;
    bench_stats end;
} growth_result;

void run_churn(const bench_backend *b, const bench_cfg *cfg, uint64_t pairs, churn_result *out);
void run_growth(const bench_backend *b, const bench_cfg *cfg, unsigned keys, unsigned presize,
                growth_result *out);

#endif
