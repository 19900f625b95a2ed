/* Log-bucket latency histogram: 32 linear buckets per power of two (about 3%
   resolution) from 1 ns to 2^40 ns, no allocation when recording. */
#ifndef MMF_BENCH_HIST_H
#define MMF_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5u
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (HIST_SUB * 37u)

typedef struct hist {
    uint64_t count, max, sum;
    uint64_t bucket[HIST_BUCKETS];
} hist;

static inline unsigned hist_index(uint64_t v) {
    if (v < HIST_SUB) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = e - HIST_SUB_BITS;
    unsigned idx = HIST_SUB * (shift + 1) + (unsigned)((v >> shift) - HIST_SUB);
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

static inline void hist_record(hist *h, uint64_t ns) {
    h->bucket[hist_index(ns)]++;
    h->count++;
    h->sum += ns;
    if (ns > h->max) h->max = ns;
}

void hist_merge(hist *into, const hist *from);
/* The value below which a fraction p (0..1) of the samples lie (bucket
   upper bound, at most the maximum seen). */
uint64_t hist_percentile(const hist *h, double p);

#endif
