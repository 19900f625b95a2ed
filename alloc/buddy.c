/*
 * Buddy allocator: allocation, freeing with coalescing, growth of the
 * committed prefix, rebuild from the live blocks. See alloc.h for the
 * contract.
 *
 * Invariants (checked by mmfa_check), over the committed units [0, c) that
 * the ctx knows of (its private copy of h->committed):
 *  - [0, c) is tiled by blocks; the first unit of each carries a meta byte
 *    (allocated or free, and its order), the other units carry 0;
 *  - a block of order k starts at a unit index divisible by 2^k;
 *  - every free block is on the list of its order exactly once, and no free
 *    block has a free buddy of the same order (they would have merged);
 *  - nothing at or past unit c is read or written: a buddy that does not lie
 *    wholly below c is not a buddy (its meta byte may be a hole in the file).
 *
 * The geometry comes from the caller's private, validated copy (struct
 * mmfa_ctx), never from the mapping. Every offset read from the mapping
 * (list heads and links) is loaded once and validated against that geometry
 * and the meta bytes before it is followed, and every walk is
 * bounded by the number of units, so a damaged heap yields MMFA_ECORRUPT.
 *
 * Growth (mmfa_grow, mutex held): core commits the memory; we zero the new
 * units' meta bytes, publish c' with a release store to h->committed, then
 * free [c, c') as maximal aligned blocks through the coalescing path. The
 * publish is the linearization point: before it no process looks past c;
 * after it the new units are committed but possibly on no free list, which
 * mmfa_check reports and mmfa_rebuild repairs (a kill -9 mid-growth is
 * recovered like one mid-split). A free list never holds a block at or past
 * the published count: blocks join lists only after the publish.
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

/* The committed units this handle knows of. Relaxed: only a thread of this
   handle that holds the mutex changes the copy (mmfa_sync, mmfa_grow), and
   every caller that acts on it holds the mutex too, which orders them;
   mmfa_get_usage wants a snapshot only. */
static inline uint64_t committed_of(const struct mmfa_ctx *a) {
    return load_relaxed(&a->committed);
}

/* The unit index of offset off, if off can start a block of this order that
   lies wholly within the committed units. */
static int unit_of(const struct mmfa_ctx *a, uint64_t off, unsigned order, uint64_t *unit) {
    const struct mmfa_geometry *g = &a->g;
    if (order > g->max_order || off < g->arena_off) return 0;
    uint64_t rel = off - g->arena_off;
    if (rel & (MMFA_UNIT - 1)) return 0;
    uint64_t u = rel >> MMFA_UNIT_SHIFT, c = committed_of(a);
    uint64_t n = 1ull << order;
    if (u >= c || (u & (n - 1)) || n > c - u) return 0;
    *unit = u;
    return 1;
}

static int is_free_block(const struct mmfa_ctx *a, uint64_t off, unsigned order, uint64_t *unit) {
    return unit_of(a, off, order, unit) && meta_of(a)[*unit] == MMFA_META_FREE(order);
}

/* The largest order of a block at unit u that ends at or before end. */
static unsigned max_block(const struct mmfa_geometry *g, uint64_t u, uint64_t end) {
    unsigned k = g->max_order;
    while ((u & ((1ull << k) - 1)) || (1ull << k) > end - u)
        k--; /* ends at k = 0 at the latest: u < end */
    return k;
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
    while (k + 1 < MMFA_ORDERS && (2ull << k) <= units)
        k++;
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

#define MMFA_PAGE 4096u

/* Where the committed meta bytes of the first units units end: page-rounded,
   clipped to the meta area (whose end, arena_off, is past meta_off + units). */
static uint64_t meta_end(const struct mmfa_geometry *g, uint64_t units) {
    uint64_t e = (g->meta_off + units + MMFA_PAGE - 1) & ~(uint64_t)(MMFA_PAGE - 1);
    return e < g->arena_off ? e : g->arena_off;
}

uint64_t mmfa_commit_bytes(const struct mmfa_geometry *g, uint64_t units) {
    if (units == 0) return 0;
    return meta_end(g, units) - g->meta_off + (units << MMFA_UNIT_SHIFT);
}

uint64_t mmfa_units_for_bytes(const struct mmfa_geometry *g, uint64_t bytes) {
    /* mmfa_commit_bytes grows with units: the last lo that fits */
    uint64_t lo = 0, hi = g->units;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (mmfa_commit_bytes(g, mid) <= bytes)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

int mmfa_commit_ranges(const struct mmfa_geometry *g, uint64_t from, uint64_t to, uint64_t off[2],
                       uint64_t len[2]) {
    if (from > to || to > g->units) return MMFA_EINVAL;
    /* meta: from where the commit of `from` units ended (its last page is
       whole), or from meta_off for the first commit */
    uint64_t m0 = from ? meta_end(g, from) : g->meta_off, m1 = to ? meta_end(g, to) : m0;
    off[0] = m0;
    len[0] = m1 - m0;
    off[1] = g->arena_off + (from << MMFA_UNIT_SHIFT);
    len[1] = (to - from) << MMFA_UNIT_SHIFT;
    return MMFA_OK;
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

/* Frees the block of order k at unit u, whose meta byte is already 0: merges
   it with its free buddy while there is one below the committed end c, then
   pushes the result. */
static int coalesce(const struct mmfa_ctx *a, uint64_t u, unsigned k, uint64_t c) {
    const uint8_t *meta = meta_of(a);
    while (k < a->g.max_order) {
        uint64_t b = u ^ (1ull << k);
        /* a buddy not wholly below c is none: its meta byte may not exist */
        if ((1ull << k) > c || b > c - (1ull << k)) break;
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

/* Frees the units [lo, hi) (below the committed end c), meta bytes 0, as
   maximal aligned blocks, each merged with its free buddies. */
static int free_range(const struct mmfa_ctx *a, uint64_t lo, uint64_t hi, uint64_t c) {
    while (lo < hi) {
        unsigned k = max_block(&a->g, lo, hi);
        int rc = coalesce(a, lo, k, c);
        if (rc) return rc;
        lo += 1ull << k;
    }
    return MMFA_OK;
}

int mmfa_format(struct mmfa_ctx *a, uint64_t units) {
    struct mmfa_heap *h = a->h;
    if (units == 0 || units > a->g.units) return MMFA_EINVAL;
    h->geo = a->g;
    memset(meta_of(a), 0, units);
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        store_relaxed(&h->free_head[k], 0);
        store_relaxed(&h->free_count[k], 0);
    }
    store_relaxed(&h->used_units, 0);
    /* release: with the rest of the format, published by core's ready flag;
       release costs nothing here and pairs with mmfa_sync's acquire should
       anyone read it earlier */
    store_release(&h->committed, units);
    store_relaxed(&a->committed, units); /* relaxed: see committed_of */
    /* cannot fail: the lists were just emptied, so nothing is followed */
    return free_range(a, 0, units, units);
}

int mmfa_sync(struct mmfa_ctx *a) {
    /* acquire: pairs with the release store in mmfa_grow (mmfa_format), so
       that the new units' zeroed meta bytes are seen before they are used,
       also by a handle that reads it without the mutex (at attach) */
    uint64_t n = load_acquire(&a->h->committed);
    if (n == 0 || n < committed_of(a) || n > a->g.units) return MMFA_ECORRUPT;
    store_relaxed(&a->committed, n); /* relaxed: see committed_of */
    return MMFA_OK;
}

/* Whether the units [p, c) are all free, as whole free blocks that start at
   p and end at c (p < c, both committed). */
static int tail_free(const struct mmfa_ctx *a, uint64_t p, uint64_t c) {
    const uint8_t *meta = meta_of(a);
    while (p < c) {
        uint8_t m = meta[p];
        unsigned k = (m & 0x3fu) - 1u;
        if (!(m & 0x80u) || k > a->g.max_order || (1ull << k) > c - p) return 0;
        p += 1ull << k;
    }
    return 1;
}

int mmfa_grow_target(const struct mmfa_ctx *a, unsigned order, uint64_t *units) {
    if (order > a->g.max_order) return MMFA_ENOSPC;
    uint64_t n = 1ull << order, c = committed_of(a);
    uint64_t up = (c + n - 1) & ~(n - 1); /* no overflow: c <= units < 2^58 */
    /* The aligned window [up - n, up) that straddles the end is whole once
       grown if its old part is all free: coalescing leaves no two free
       buddies, so a window all free is one block. Otherwise the first
       window past the end. Windows below c hold no free block this large
       (the caller's mmfa_alloc said ENOSPC). */
    uint64_t t = up != c && tail_free(a, up - n, c) ? up : up + n;
    if (t > a->g.units) return MMFA_ENOSPC;
    *units = t;
    return MMFA_OK;
}

int mmfa_grow(struct mmfa_ctx *a, uint64_t new_units) {
    struct mmfa_heap *h = a->h;
    uint64_t c = committed_of(a);
    if (new_units <= c || new_units > a->g.units) return MMFA_EINVAL;
    /* relaxed: we hold the mutex, which orders every write of the count
       (mmfa_sync made the copy from it) */
    if (load_relaxed(&h->committed) != c) return MMFA_ECORRUPT;
    /* the new memory reads as zeros when it is fresh; zero it anyway, so
       that nothing left in the file can pass for a block */
    memset(meta_of(a) + c, 0, new_units - c);
    /* release: pairs with the acquire in mmfa_sync: whoever sees the new
       count sees the zeroed meta bytes. From here the new units are
       committed; until free_range has run, some are on no free list, which
       a rebuild repairs. */
    store_release(&h->committed, new_units);
    MMF_CRASH_POINT("alloc.grow.published");
    store_relaxed(&a->committed, new_units); /* relaxed: see committed_of */
    return free_range(a, c, new_units, new_units);
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
    uint64_t u;
    uint8_t *meta = meta_of(a);
    if (!unit_of(a, off, order, &u) || meta[u] != MMFA_META_ALLOC(order)) return MMFA_ECORRUPT;
    meta[u] = 0;
    uint64_t used = load_relaxed(&h->used_units);
    store_relaxed(&h->used_units, used >= (1ull << order) ? used - (1ull << order) : 0);
    return coalesce(a, u, order, committed_of(a));
}

int mmfa_is_allocated(const struct mmfa_ctx *a, uint64_t off, unsigned order) {
    uint64_t u;
    return unit_of(a, off, order, &u) && meta_of(a)[u] == MMFA_META_ALLOC(order);
}

#define REPORT(...)                                                                                \
    do {                                                                                           \
        if (report) fprintf(report, __VA_ARGS__);                                                  \
    } while (0)

int mmfa_check(const struct mmfa_ctx *a, FILE *report) {
    const struct mmfa_heap *h = a->h;
    const struct mmfa_geometry *g = &a->g;
    const uint8_t *meta = meta_of(a);
    uint64_t nfree[MMFA_ORDERS] = {0}, used = 0, c = committed_of(a);
    int bad = 0;
    /* relaxed: a check runs under the mutex, which orders the count's writes */
    uint64_t published = load_relaxed(&h->committed);
    if (published != c) {
        REPORT("heap: %llu units committed, this handle knows of %llu\n",
               (unsigned long long)published, (unsigned long long)c);
        bad = 1;
    }
    for (uint64_t u = 0; u < c;) {
        uint8_t m = meta[u];
        unsigned k = (m & 0x3fu) - 1u;
        if ((m & ~0x80u) == 0 || (m & MMFA_META_COVERED) || k > g->max_order ||
            (u & ((1ull << k) - 1)) || (1ull << k) > c - u) {
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
            if (k < g->max_order && b <= c - (1ull << k) && meta[b] == MMFA_META_FREE(k)) {
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
                REPORT("heap: free list %u is broken at offset %llu\n", k, (unsigned long long)off);
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
    uint64_t c = committed_of(a);
    memset(meta, 0, c);
    uint64_t used = 0, off;
    unsigned order;
    while (live(ctx, &off, &order) == 0) {
        uint64_t u, n = 1ull << order;
        if (!unit_of(a, off, order, &u) || !range_clear(meta, u, n)) return MMFA_ECORRUPT;
        memset(meta + u, MMFA_META_COVERED, n);
        meta[u] = MMFA_META_ALLOC(order);
        used += n;
    }
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        store_relaxed(&h->free_head[k], 0);
        store_relaxed(&h->free_count[k], 0);
    }
    store_relaxed(&h->used_units, used);
    for (uint64_t u = 0; u < c;) {
        uint8_t m = meta[u];
        if (m == MMFA_META_COVERED) { /* unreachable: interiors are skipped whole */
            u++;
            continue;
        }
        if (m) { /* a live block's first unit */
            u += 1ull << ((m & 0x3fu) - 1u);
            continue;
        }
        unsigned k = max_block(g, u, c);
        while (!range_clear(meta, u, 1ull << k))
            k--; /* ends at k = 0 at the latest: meta[u] is 0 here */
        push_free(a, u, k);
        u += 1ull << k;
    }
    for (uint64_t u = 0; u < c; u++)
        if (meta[u] == MMFA_META_COVERED) meta[u] = 0;
    return MMFA_OK;
}

void mmfa_get_usage(const struct mmfa_ctx *a, mmfa_usage *u) {
    const struct mmfa_heap *h = a->h;
    u->used = load_relaxed(&h->used_units) << MMFA_UNIT_SHIFT;
    u->free = 0;
    u->largest_free = 0;
    u->committed = committed_of(a) << MMFA_UNIT_SHIFT;
    u->reserved = a->g.units << MMFA_UNIT_SHIFT;
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
    uint64_t c = committed_of(a);
    for (uint64_t u = 0; u < c;) {
        uint8_t m = meta[u];
        unsigned k = (m & 0x3fu) - 1u;
        if ((m & ~0x80u) == 0 || k > g->max_order || (1ull << k) > c - u) return MMFA_ECORRUPT;
        fn(ctx, off_of(a, u), k, (m & 0x80u) != 0);
        u += 1ull << k;
    }
    return MMFA_OK;
}
