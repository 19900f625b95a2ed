/*
 * Buddy allocator: allocation, freeing with coalescing, rebuild from the live
 * blocks. See alloc.h for the contract.
 *
 * Invariants (checked by mmfa_check):
 *  - the arena is tiled by blocks; the first unit of each carries a meta byte
 *    (allocated or free, and its order), the other units carry 0;
 *  - a block of order k starts at a unit index divisible by 2^k;
 *  - every free block is on the list of its order exactly once, and no free
 *    block has a free buddy of the same order (they would have merged).
 *
 * Every offset read from the arena (list links) is validated against the
 * geometry and the meta bytes before it is followed, and every walk is
 * bounded by the number of units, so a damaged heap yields MMFA_ECORRUPT.
 *
 * Link words are atomics accessed relaxed: a lock-free reader holding a stale
 * block offset may copy a block while it is being freed (it then fails its
 * generation check); atomics keep that overlap defined. Ordering for the
 * allocator's own state comes from the namespace mutex.
 */
#include "alloc.h"
#include "../common/crash.h"

#include <string.h>

static inline uint8_t *meta_of(unsigned char *base, const struct mmfa_heap *h) {
    return base + h->meta_off;
}

static inline struct mmfa_free_block *block_at(unsigned char *base, const struct mmfa_heap *h,
                                               uint64_t unit) {
    return (struct mmfa_free_block *)(base + h->arena_off + (unit << MMFA_UNIT_SHIFT));
}

static inline uint64_t off_of(const struct mmfa_heap *h, uint64_t unit) {
    return h->arena_off + (unit << MMFA_UNIT_SHIFT);
}

/* The unit index of offset off, if off can start a block of this order. */
static int unit_of(const struct mmfa_heap *h, uint64_t off, unsigned order, uint64_t *unit) {
    if (order > h->max_order || off < h->arena_off) return 0;
    uint64_t rel = off - h->arena_off;
    if (rel & (MMFA_UNIT - 1)) return 0;
    uint64_t u = rel >> MMFA_UNIT_SHIFT;
    uint64_t n = 1ull << order;
    if (u >= h->units || (u & (n - 1)) || n > h->units - u) return 0;
    *unit = u;
    return 1;
}

static int is_free_block(unsigned char *base, const struct mmfa_heap *h, uint64_t off,
                         unsigned order, uint64_t *unit) {
    return unit_of(h, off, order, unit) && meta_of(base, h)[*unit] == MMFA_META_FREE(order);
}

int mmfa_plan(uint64_t off, uint64_t avail, struct mmfa_heap *h) {
    memset(h, 0, sizeof *h);
    /* one meta byte per unit, then the arena aligned to a unit */
    if (avail < MMFA_UNIT * 2) return MMFA_EINVAL;
    uint64_t units = (avail - MMFA_UNIT) / (MMFA_UNIT + 1);
    if (units == 0) return MMFA_EINVAL;
    h->meta_off = off;
    h->arena_off = (off + units + MMFA_UNIT - 1) & ~(uint64_t)(MMFA_UNIT - 1);
    h->units = units;
    unsigned k = 0;
    while (k + 1 < MMFA_ORDERS && (2ull << k) <= units) k++;
    h->max_order = k;
    return MMFA_OK;
}

int mmfa_geometry_ok(const struct mmfa_heap *h, uint64_t map_size) {
    if (h->units == 0 || h->max_order >= MMFA_ORDERS) return 0;
    if ((1ull << h->max_order) > h->units) return 0;
    if (h->units > map_size / MMFA_UNIT) return 0;
    if (h->meta_off >= map_size || h->units > map_size - h->meta_off) return 0;
    if (h->arena_off & (MMFA_UNIT - 1)) return 0;
    if (h->arena_off < h->meta_off + h->units) return 0;
    if (h->arena_off > map_size || (h->units << MMFA_UNIT_SHIFT) > map_size - h->arena_off)
        return 0;
    return 1;
}

static void push_free(unsigned char *base, struct mmfa_heap *h, uint64_t unit, unsigned order) {
    uint64_t off = off_of(h, unit);
    struct mmfa_free_block *b = block_at(base, h, unit);
    uint64_t head = load_relaxed(&h->free_head[order]);
    store_relaxed(&b->next, head);
    store_relaxed(&b->prev, 0);
    if (head) {
        /* head was validated when it became head; links are only ever set
           by this file, and every pop re-validates */
        struct mmfa_free_block *hb = (struct mmfa_free_block *)(base + head);
        store_relaxed(&hb->prev, off);
    }
    store_relaxed(&h->free_head[order], off);
    fetch_add_relaxed(&h->free_count[order], 1);
    meta_of(base, h)[unit] = MMFA_META_FREE(order);
}

/* Unlinks a free block of the given order whose unit is known valid. */
static int unlink_free(unsigned char *base, struct mmfa_heap *h, uint64_t unit, unsigned order) {
    uint64_t off = off_of(h, unit), pu = 0, nu = 0;
    struct mmfa_free_block *b = block_at(base, h, unit);
    uint64_t prev = load_relaxed(&b->prev), next = load_relaxed(&b->next);
    if (prev && !is_free_block(base, h, prev, order, &pu)) return MMFA_ECORRUPT;
    if (next && !is_free_block(base, h, next, order, &nu)) return MMFA_ECORRUPT;
    if (prev) {
        if (load_relaxed(&block_at(base, h, pu)->next) != off) return MMFA_ECORRUPT;
        store_relaxed(&block_at(base, h, pu)->next, next);
    } else {
        if (load_relaxed(&h->free_head[order]) != off) return MMFA_ECORRUPT;
        store_relaxed(&h->free_head[order], next);
    }
    if (next) store_relaxed(&block_at(base, h, nu)->prev, prev);
    if (load_relaxed(&h->free_count[order]) == 0) return MMFA_ECORRUPT;
    store_relaxed(&h->free_count[order], load_relaxed(&h->free_count[order]) - 1);
    meta_of(base, h)[unit] = 0;
    return MMFA_OK;
}

void mmfa_format(unsigned char *base, struct mmfa_heap *h) {
    memset(meta_of(base, h), 0, h->units);
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        store_relaxed(&h->free_head[k], 0);
        store_relaxed(&h->free_count[k], 0);
    }
    store_relaxed(&h->used_units, 0);
    uint64_t u = 0;
    while (u < h->units) {
        unsigned k = h->max_order;
        while ((u & ((1ull << k) - 1)) || (1ull << k) > h->units - u) k--;
        push_free(base, h, u, k);
        u += 1ull << k;
    }
}

int mmfa_order_for(const struct mmfa_heap *h, uint64_t bytes) {
    if (bytes == 0) bytes = 1;
    for (unsigned k = 0; k <= h->max_order; k++)
        if (mmfa_block_size(k) >= bytes) return (int)k;
    return -1;
}

int mmfa_alloc(unsigned char *base, struct mmfa_heap *h, unsigned order, uint64_t *off) {
    if (order > h->max_order) return MMFA_ENOSPC;
    for (unsigned j = order; j <= h->max_order; j++) {
        uint64_t head = load_relaxed(&h->free_head[j]), u;
        if (!head) continue;
        if (!is_free_block(base, h, head, j, &u)) return MMFA_ECORRUPT;
        int rc = unlink_free(base, h, u, j);
        if (rc) return rc;
        while (j > order) {
            j--;
            push_free(base, h, u + (1ull << j), j);
            MMF_CRASH_POINT("alloc.split");
        }
        meta_of(base, h)[u] = MMFA_META_ALLOC(order);
        fetch_add_relaxed(&h->used_units, 1ull << order);
        *off = off_of(h, u);
        return MMFA_OK;
    }
    return MMFA_ENOSPC;
}

int mmfa_free(unsigned char *base, struct mmfa_heap *h, uint64_t off, unsigned order) {
    uint64_t u;
    if (!unit_of(h, off, order, &u) || meta_of(base, h)[u] != MMFA_META_ALLOC(order))
        return MMFA_ECORRUPT;
    uint8_t *meta = meta_of(base, h);
    meta[u] = 0;
    uint64_t used = load_relaxed(&h->used_units);
    store_relaxed(&h->used_units, used >= (1ull << order) ? used - (1ull << order) : 0);
    unsigned k = order;
    while (k < h->max_order) {
        uint64_t b = u ^ (1ull << k);
        if ((1ull << k) > h->units || b > h->units - (1ull << k)) break;
        if (meta[b] != MMFA_META_FREE(k)) break;
        int rc = unlink_free(base, h, b, k);
        if (rc) return rc;
        MMF_CRASH_POINT("alloc.merge");
        if (b < u) u = b;
        k++;
    }
    push_free(base, h, u, k);
    return MMFA_OK;
}

int mmfa_is_allocated(const unsigned char *base, const struct mmfa_heap *h, uint64_t off,
                      unsigned order) {
    uint64_t u;
    return unit_of(h, off, order, &u) &&
           meta_of((unsigned char *)base, h)[u] == MMFA_META_ALLOC(order);
}

#define REPORT(...)                                                                                \
    do {                                                                                           \
        if (report) fprintf(report, __VA_ARGS__);                                                  \
    } while (0)

int mmfa_check(const unsigned char *cbase, const struct mmfa_heap *h, FILE *report) {
    unsigned char *base = (unsigned char *)cbase; /* read only below */
    const uint8_t *meta = meta_of(base, h);
    uint64_t nfree[MMFA_ORDERS] = {0}, used = 0;
    int bad = 0;
    for (uint64_t u = 0; u < h->units;) {
        uint8_t m = meta[u];
        unsigned k = (m & 0x3fu) - 1u;
        if ((m & ~0x80u) == 0 || (m & MMFA_META_COVERED) || k > h->max_order ||
            (u & ((1ull << k) - 1)) || (1ull << k) > h->units - u) {
            REPORT("heap: unit %llu has meta 0x%02x, not the start of a block\n",
                   (unsigned long long)u, m);
            return MMFA_ECORRUPT;
        }
        for (uint64_t i = 1; i < (1ull << k); i++)
            if (meta[u + i]) {
                REPORT("heap: block at unit %llu overlaps a block at unit %llu\n",
                       (unsigned long long)u, (unsigned long long)(u + i));
                return MMFA_ECORRUPT;
            }
        if (m & 0x80u) {
            nfree[k]++;
            uint64_t b = u ^ (1ull << k);
            if (k < h->max_order && b <= h->units - (1ull << k) && meta[b] == MMFA_META_FREE(k)) {
                REPORT("heap: free buddies at units %llu and %llu were not merged\n",
                       (unsigned long long)u, (unsigned long long)b);
                bad = 1;
            }
        } else {
            used += 1ull << k;
        }
        u += 1ull << k;
    }
    if (used != load_relaxed(&h->used_units)) {
        REPORT("heap: %llu units in use, the counter says %llu\n", (unsigned long long)used,
               (unsigned long long)load_relaxed(&h->used_units));
        bad = 1;
    }
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        uint64_t n = 0, prev = 0, off = load_relaxed(&h->free_head[k]), u;
        while (off) {
            if (n >= nfree[k] || !is_free_block(base, h, off, k, &u)) {
                REPORT("heap: free list %u is broken at offset %llu\n", k,
                       (unsigned long long)off);
                return MMFA_ECORRUPT;
            }
            const struct mmfa_free_block *b = block_at(base, h, u);
            if (load_relaxed(&b->prev) != prev) {
                REPORT("heap: free list %u: back link of %llu is wrong\n", k,
                       (unsigned long long)off);
                return MMFA_ECORRUPT;
            }
            prev = off;
            off = load_relaxed(&b->next);
            n++;
        }
        if (n != nfree[k] || n != load_relaxed(&h->free_count[k])) {
            REPORT("heap: order %u has %llu free blocks, %llu listed, counter %llu\n", k,
                   (unsigned long long)nfree[k], (unsigned long long)n,
                   (unsigned long long)load_relaxed(&h->free_count[k]));
            bad = 1;
        }
    }
    return bad ? MMFA_ECORRUPT : MMFA_OK;
}

static int range_clear(const uint8_t *meta, uint64_t u, uint64_t n) {
    for (uint64_t i = 0; i < n; i++)
        if (meta[u + i]) return 0;
    return 1;
}

int mmfa_rebuild(unsigned char *base, struct mmfa_heap *h, mmfa_live_fn live, void *ctx) {
    uint8_t *meta = meta_of(base, h);
    memset(meta, 0, h->units);
    uint64_t used = 0, off;
    unsigned order;
    for (uint64_t i = 0; live(ctx, i, &off, &order) == 0; i++) {
        uint64_t u, n = 1ull << order;
        if (!unit_of(h, off, order, &u) || !range_clear(meta, u, n)) return MMFA_ECORRUPT;
        memset(meta + u, MMFA_META_COVERED, n);
        meta[u] = MMFA_META_ALLOC(order);
        used += n;
    }
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        store_relaxed(&h->free_head[k], 0);
        store_relaxed(&h->free_count[k], 0);
    }
    store_relaxed(&h->used_units, used);
    for (uint64_t u = 0; u < h->units;) {
        uint8_t m = meta[u];
        if (m == MMFA_META_COVERED) { /* unreachable: interiors are skipped whole */
            u++;
            continue;
        }
        if (m) { /* a live block's first unit */
            u += 1ull << ((m & 0x3fu) - 1u);
            continue;
        }
        unsigned k = h->max_order;
        while ((u & ((1ull << k) - 1)) || (1ull << k) > h->units - u ||
               !range_clear(meta, u, 1ull << k))
            k--; /* ends at k = 0 at the latest: meta[u] is 0 here */
        push_free(base, h, u, k);
        u += 1ull << k;
    }
    for (uint64_t u = 0; u < h->units; u++)
        if (meta[u] == MMFA_META_COVERED) meta[u] = 0;
    return MMFA_OK;
}

void mmfa_get_usage(const struct mmfa_heap *h, mmfa_usage *u) {
    u->used = load_relaxed(&h->used_units) << MMFA_UNIT_SHIFT;
    u->free = 0;
    u->largest_free = 0;
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        /* relaxed: a statistics snapshot, not a transaction */
        uint64_t n = load_relaxed(&h->free_count[k]);
        u->free += n * mmfa_block_size(k);
        if (n) u->largest_free = mmfa_block_size(k);
    }
}

int mmfa_walk(const unsigned char *cbase, const struct mmfa_heap *h, mmfa_block_fn fn, void *ctx) {
    const uint8_t *meta = meta_of((unsigned char *)cbase, h);
    for (uint64_t u = 0; u < h->units;) {
        uint8_t m = meta[u];
        unsigned k = (m & 0x3fu) - 1u;
        if ((m & ~0x80u) == 0 || k > h->max_order || (1ull << k) > h->units - u)
            return MMFA_ECORRUPT;
        fn(ctx, off_of(h, u), k, (m & 0x80u) != 0);
        u += 1ull << k;
    }
    return MMFA_OK;
}
