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
 * The geometry comes from the caller's private, validated copy (struct
 * mmfa_ctx), never from the mapping. Every offset read from the mapping
 * (list heads and links) is loaded once and validated against that geometry
 * and the meta bytes before it is followed, and every walk is
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

static inline uint8_t *meta_of(const struct mmfa_ctx *a) {
    return a->base + a->g.meta_off;
}

static inline struct mmfa_free_block *block_at(const struct mmfa_ctx *a, uint64_t unit) {
    return (struct mmfa_free_block *)(a->base + a->g.arena_off + (unit << MMFA_UNIT_SHIFT));
}

static inline uint64_t off_of(const struct mmfa_ctx *a, uint64_t unit) {
    return a->g.arena_off + (unit << MMFA_UNIT_SHIFT);
}

/* The unit index of offset off, if off can start a block of this order. */
static int unit_of(const struct mmfa_geometry *g, uint64_t off, unsigned order, uint64_t *unit) {
    if (order > g->max_order || off < g->arena_off) return 0;
    uint64_t rel = off - g->arena_off;
    if (rel & (MMFA_UNIT - 1)) return 0;
    uint64_t u = rel >> MMFA_UNIT_SHIFT;
    uint64_t n = 1ull << order;
    if (u >= g->units || (u & (n - 1)) || n > g->units - u) return 0;
    *unit = u;
    return 1;
}

static int is_free_block(const struct mmfa_ctx *a, uint64_t off, unsigned order, uint64_t *unit) {
    return unit_of(&a->g, off, order, unit) && meta_of(a)[*unit] == MMFA_META_FREE(order);
}

int mmfa_plan(uint64_t off, uint64_t avail, struct mmfa_geometry *g) {
    memset(g, 0, sizeof *g);
    /* one meta byte per unit, then the arena aligned to a unit */
    if (avail < MMFA_UNIT * 2) return MMFA_EINVAL;
    uint64_t units = (avail - MMFA_UNIT) / (MMFA_UNIT + 1);
    if (units == 0) return MMFA_EINVAL;
    g->meta_off = off;
    g->arena_off = (off + units + MMFA_UNIT - 1) & ~(uint64_t)(MMFA_UNIT - 1);
    g->units = units;
    unsigned k = 0;
    while (k + 1 < MMFA_ORDERS && (2ull << k) <= units) k++;
    g->max_order = k;
    return MMFA_OK;
}

int mmfa_geometry_ok(const struct mmfa_geometry *g, uint64_t map_size) {
    if (g->units == 0 || g->max_order >= MMFA_ORDERS) return 0;
    if ((1ull << g->max_order) > g->units) return 0;
    if (g->units > map_size / MMFA_UNIT) return 0;
    if (g->meta_off >= map_size || g->units > map_size - g->meta_off) return 0;
    if (g->arena_off & (MMFA_UNIT - 1)) return 0;
    if (g->arena_off < g->meta_off + g->units) return 0;
    if (g->arena_off > map_size || (g->units << MMFA_UNIT_SHIFT) > map_size - g->arena_off)
        return 0;
    return 1;
}

static void push_free(const struct mmfa_ctx *a, uint64_t unit, unsigned order) {
    struct mmfa_heap *h = a->h;
    uint64_t off = off_of(a, unit), hu;
    struct mmfa_free_block *b = block_at(a, unit);
    uint64_t head = load_relaxed(&h->free_head[order]); /* loaded once, checked, used */
    /* a head that is not a free block of this order (the mapping was written
       to behind our back) is not followed: the list restarts here, and
       mmfa_check reports the lost blocks until a rebuild */
    if (head && !is_free_block(a, head, order, &hu)) head = 0;
    store_relaxed(&b->next, head);
    store_relaxed(&b->prev, 0);
    if (head) store_relaxed(&block_at(a, hu)->prev, off);
    store_relaxed(&h->free_head[order], off);
    fetch_add_relaxed(&h->free_count[order], 1);
    meta_of(a)[unit] = MMFA_META_FREE(order);
}

/* Unlinks a free block of the given order whose unit is known valid. */
static int unlink_free(const struct mmfa_ctx *a, uint64_t unit, unsigned order) {
    struct mmfa_heap *h = a->h;
    uint64_t off = off_of(a, unit), pu = 0, nu = 0;
    struct mmfa_free_block *b = block_at(a, unit);
    uint64_t prev = load_relaxed(&b->prev), next = load_relaxed(&b->next);
    if (prev && !is_free_block(a, prev, order, &pu)) return MMFA_ECORRUPT;
    if (next && !is_free_block(a, next, order, &nu)) return MMFA_ECORRUPT;
    if (prev) {
        if (load_relaxed(&block_at(a, pu)->next) != off) return MMFA_ECORRUPT;
        store_relaxed(&block_at(a, pu)->next, next);
    } else {
        if (load_relaxed(&h->free_head[order]) != off) return MMFA_ECORRUPT;
        store_relaxed(&h->free_head[order], next);
    }
    if (next) store_relaxed(&block_at(a, nu)->prev, prev);
    uint64_t count = load_relaxed(&h->free_count[order]);
    if (count == 0) return MMFA_ECORRUPT;
    store_relaxed(&h->free_count[order], count - 1);
    meta_of(a)[unit] = 0;
    return MMFA_OK;
}

void mmfa_format(const struct mmfa_ctx *a) {
    struct mmfa_heap *h = a->h;
    h->geo = a->g;
    memset(meta_of(a), 0, a->g.units);
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        store_relaxed(&h->free_head[k], 0);
        store_relaxed(&h->free_count[k], 0);
    }
    store_relaxed(&h->used_units, 0);
    uint64_t u = 0;
    while (u < a->g.units) {
        unsigned k = a->g.max_order;
        while ((u & ((1ull << k) - 1)) || (1ull << k) > a->g.units - u)
            k--;
        push_free(a, u, k);
        u += 1ull << k;
    }
}

int mmfa_order_for(const struct mmfa_ctx *a, uint64_t bytes) {
    if (bytes == 0) bytes = 1;
    for (unsigned k = 0; k <= a->g.max_order; k++)
        if (mmfa_block_size(k) >= bytes) return (int)k;
    return -1;
}

int mmfa_alloc(const struct mmfa_ctx *a, unsigned order, uint64_t *off) {
    struct mmfa_heap *h = a->h;
    if (order > a->g.max_order) return MMFA_ENOSPC;
    for (unsigned j = order; j <= a->g.max_order; j++) {
        uint64_t head = load_relaxed(&h->free_head[j]), u;
        if (!head) continue;
        if (!is_free_block(a, head, j, &u)) return MMFA_ECORRUPT;
        int rc = unlink_free(a, u, j);
        if (rc) return rc;
        while (j > order) {
            j--;
            push_free(a, u + (1ull << j), j);
            MMF_CRASH_POINT("alloc.split");
        }
        meta_of(a)[u] = MMFA_META_ALLOC(order);
        fetch_add_relaxed(&h->used_units, 1ull << order);
        *off = off_of(a, u);
        return MMFA_OK;
    }
    return MMFA_ENOSPC;
}

int mmfa_free(const struct mmfa_ctx *a, uint64_t off, unsigned order) {
    struct mmfa_heap *h = a->h;
    const struct mmfa_geometry *g = &a->g;
    uint64_t u;
    uint8_t *meta = meta_of(a);
    if (!unit_of(g, off, order, &u) || meta[u] != MMFA_META_ALLOC(order)) return MMFA_ECORRUPT;
    meta[u] = 0;
    uint64_t used = load_relaxed(&h->used_units);
    store_relaxed(&h->used_units, used >= (1ull << order) ? used - (1ull << order) : 0);
    unsigned k = order;
    while (k < g->max_order) {
        uint64_t b = u ^ (1ull << k);
        if ((1ull << k) > g->units || b > g->units - (1ull << k)) break;
        if (meta[b] != MMFA_META_FREE(k)) break;
        int rc = unlink_free(a, b, k);
        if (rc) return rc;
        MMF_CRASH_POINT("alloc.merge");
        if (b < u) u = b;
        k++;
    }
    push_free(a, u, k);
    return MMFA_OK;
}

int mmfa_is_allocated(const struct mmfa_ctx *a, uint64_t off, unsigned order) {
    uint64_t u;
    return unit_of(&a->g, off, order, &u) && meta_of(a)[u] == MMFA_META_ALLOC(order);
}

#define REPORT(...)                                                                                \
    do {                                                                                           \
        if (report) fprintf(report, __VA_ARGS__);                                                  \
    } while (0)

int mmfa_check(const struct mmfa_ctx *a, FILE *report) {
    const struct mmfa_heap *h = a->h;
    const struct mmfa_geometry *g = &a->g;
    const uint8_t *meta = meta_of(a);
    uint64_t nfree[MMFA_ORDERS] = {0}, used = 0;
    int bad = 0;
    for (uint64_t u = 0; u < g->units;) {
        uint8_t m = meta[u];
        unsigned k = (m & 0x3fu) - 1u;
        if ((m & ~0x80u) == 0 || (m & MMFA_META_COVERED) || k > g->max_order ||
            (u & ((1ull << k) - 1)) || (1ull << k) > g->units - u) {
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
            if (k < g->max_order && b <= g->units - (1ull << k) && meta[b] == MMFA_META_FREE(k)) {
                REPORT("heap: free buddies at units %llu and %llu were not merged\n",
                       (unsigned long long)u, (unsigned long long)b);
                bad = 1;
            }
        } else {
            used += 1ull << k;
        }
        u += 1ull << k;
    }
    uint64_t counted = load_relaxed(&h->used_units);
    if (used != counted) {
        REPORT("heap: %llu units in use, the counter says %llu\n", (unsigned long long)used,
               (unsigned long long)counted);
        bad = 1;
    }
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        uint64_t n = 0, prev = 0, off = load_relaxed(&h->free_head[k]), u;
        while (off) {
            if (n >= nfree[k] || !is_free_block(a, off, k, &u)) {
                REPORT("heap: free list %u is broken at offset %llu\n", k,
                       (unsigned long long)off);
                return MMFA_ECORRUPT;
            }
            const struct mmfa_free_block *b = block_at(a, u);
            if (load_relaxed(&b->prev) != prev) {
                REPORT("heap: free list %u: back link of %llu is wrong\n", k,
                       (unsigned long long)off);
                return MMFA_ECORRUPT;
            }
            prev = off;
            off = load_relaxed(&b->next);
            n++;
        }
        uint64_t listed = load_relaxed(&h->free_count[k]);
        if (n != nfree[k] || n != listed) {
            REPORT("heap: order %u has %llu free blocks, %llu listed, counter %llu\n", k,
                   (unsigned long long)nfree[k], (unsigned long long)n, (unsigned long long)listed);
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

int mmfa_rebuild(const struct mmfa_ctx *a, mmfa_live_fn live, void *ctx) {
    struct mmfa_heap *h = a->h;
    const struct mmfa_geometry *g = &a->g;
    uint8_t *meta = meta_of(a);
    memset(meta, 0, g->units);
    uint64_t used = 0, off;
    unsigned order;
    for (uint64_t i = 0; live(ctx, i, &off, &order) == 0; i++) {
        uint64_t u, n = 1ull << order;
        if (!unit_of(g, off, order, &u) || !range_clear(meta, u, n)) return MMFA_ECORRUPT;
        memset(meta + u, MMFA_META_COVERED, n);
        meta[u] = MMFA_META_ALLOC(order);
        used += n;
    }
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        store_relaxed(&h->free_head[k], 0);
        store_relaxed(&h->free_count[k], 0);
    }
    store_relaxed(&h->used_units, used);
    for (uint64_t u = 0; u < g->units;) {
        uint8_t m = meta[u];
        if (m == MMFA_META_COVERED) { /* unreachable: interiors are skipped whole */
            u++;
            continue;
        }
        if (m) { /* a live block's first unit */
            u += 1ull << ((m & 0x3fu) - 1u);
            continue;
        }
        unsigned k = g->max_order;
        while ((u & ((1ull << k) - 1)) || (1ull << k) > g->units - u ||
               !range_clear(meta, u, 1ull << k))
            k--; /* ends at k = 0 at the latest: meta[u] is 0 here */
        push_free(a, u, k);
        u += 1ull << k;
    }
    for (uint64_t u = 0; u < g->units; u++)
        if (meta[u] == MMFA_META_COVERED) meta[u] = 0;
    return MMFA_OK;
}

void mmfa_get_usage(const struct mmfa_ctx *a, mmfa_usage *u) {
    const struct mmfa_heap *h = a->h;
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

int mmfa_walk(const struct mmfa_ctx *a, mmfa_block_fn fn, void *ctx) {
    const struct mmfa_geometry *g = &a->g;
    const uint8_t *meta = meta_of(a);
    for (uint64_t u = 0; u < g->units;) {
        uint8_t m = meta[u];
        unsigned k = (m & 0x3fu) - 1u;
        if ((m & ~0x80u) == 0 || k > g->max_order || (1ull << k) > g->units - u)
            return MMFA_ECORRUPT;
        fn(ctx, off_of(a, u), k, (m & 0x80u) != 0);
        u += 1ull << k;
    }
    return MMFA_OK;
}
