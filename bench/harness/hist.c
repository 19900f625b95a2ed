#include "hist.h"

void hist_merge(hist *into, const hist *from) {
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->bucket[i] += from->bucket[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->max > into->max) into->max = from->max;
}

static uint64_t bucket_upper(unsigned idx) {
    if (idx < HIST_SUB) return idx;
    unsigned shift = idx / HIST_SUB - 1;
    uint64_t base = (uint64_t)(HIST_SUB + idx % HIST_SUB) << shift;
    return base + ((1ull << shift) - 1);
}

uint64_t hist_percentile(const hist *h, double p) {
    if (!h->count) return 0;
    uint64_t rank = (uint64_t)(p * (double)h->count);
    if (rank >= h->count) rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen > rank) {
            uint64_t up = bucket_upper(i);
            return up < h->max ? up : h->max;
        }
    }
    return h->max;
}
