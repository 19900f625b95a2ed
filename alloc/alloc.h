/*
 * Buddy allocator over an offset-addressed arena inside the mapping.
 *
 * It knows nothing of keys or slots: it hands out blocks of 64 << order bytes,
 * aligned to their size relative to the arena, as offsets from the mapping's
 * start. All its state lives in struct mmfa_heap (common/layout.h), a meta
 * byte per 64-byte unit, and the first two words of every free block; its
 * geometry comes from a private copy (struct mmfa_ctx).
 *
 * Callers serialise every call that changes state (the namespace mutex).
 * The free lists are a cache of what the index says is free: mmfa_rebuild
 * recreates them from the set of live blocks, which is how crash recovery
 * makes every allocator crash point harmless.
 *
 * Growth. The heap is planned for a reserve (the geometry's units) and only
 * a prefix of it is committed (struct mmfa_heap, committed). The allocator
 * never calls the OS: core commits file space (posix_fallocate of the ranges
 * mmfa_commit_ranges names) and then calls mmfa_grow, which publishes the new
 * count and frees the new units. Every other call works over the committed
 * units that the ctx knows of, and never touches a byte past them, not even
 * the meta byte of a buddy that lies beyond. A handle learns of another
 * process's growth through mmfa_sync, which core calls after taking the
 * mutex (and once at attach).
 */
#ifndef MMF_ALLOC_H
#define MMF_ALLOC_H

#include <stdint.h>
#include <stdio.h>

#include "../common/layout.h"

enum {
    MMFA_OK = 0,
    MMFA_ENOSPC = -1,   /* no free block large enough */
    MMFA_ECORRUPT = -2, /* the heap's state failed a check */
    MMFA_EINVAL = -3,   /* bad argument (a size or a geometry that cannot be) */
};

/*
 * What every call works on: the mapping's base, a private copy of the
 * geometry, the shared state in the mapping, and a private copy of the
 * committed units. The geometry is read from the mapping once (at attach)
 * and checked with mmfa_geometry_ok before the copy is used; the allocator
 * never reads the mapped geometry, so another process that changes it cannot
 * steer us outside the mapping. Likewise it never follows the mapped
 * committed count but the copy, which only mmfa_format, mmfa_sync and
 * mmfa_grow change, after validating it.
 *
 * committed is an atomic because stat-like callers (mmfa_get_usage) may read
 * it without the mutex while a thread of the same handle that holds it
 * updates it; all its accesses are relaxed (the mutex orders the others).
 * Set it to 0 when making a ctx; mmfa_format or mmfa_sync fills it.
 */
struct mmfa_ctx {
    unsigned char *base;
    struct mmfa_geometry g; /* private, validated; g.units is the reserve */
    struct mmfa_heap *h;    /* free lists and counts, in the mapping */
    mmf_a64 committed;      /* private copy of h->committed, validated */
};

/* Plans a heap whose reserve is [off, off + avail) of a mapping: meta bytes,
   then the arena. MMFA_EINVAL if not even one block fits. */
int mmfa_plan(uint64_t off, uint64_t avail, struct mmfa_geometry *g);

/* Checks a geometry copied from a mapping of map_size bytes (on attach): the
   whole reserve must lie inside the mapping. */
int mmfa_geometry_ok(const struct mmfa_geometry *g, uint64_t map_size);

/*
 * What committing costs, for core (units <= g->units in all three). Meta
 * ranges are rounded up to whole 4096-byte pages, clipped to the meta area
 * [meta_off, arena_off); arena ranges are exact (64-byte units).
 *
 * mmfa_commit_bytes: the bytes of the two ranges that committing the first
 * units takes (0 for 0 units).
 * mmfa_units_for_bytes: the most units whose mmfa_commit_bytes is within
 * bytes (0 if not even one; at most the reserve).
 * mmfa_commit_ranges: the two file ranges to commit (posix_fallocate) when
 * going from `from` committed units to `to`: [off[0], off[0] + len[0]) of
 * meta and [off[1], off[1] + len[1]) of arena; a length may be 0. The ranges
 * of 0 -> a and a -> b together are those of 0 -> b. MMFA_EINVAL unless
 * from <= to <= g->units.
 */
uint64_t mmfa_commit_bytes(const struct mmfa_geometry *g, uint64_t units);
uint64_t mmfa_units_for_bytes(const struct mmfa_geometry *g, uint64_t bytes);
int mmfa_commit_ranges(const struct mmfa_geometry *g, uint64_t from, uint64_t to, uint64_t off[2],
                       uint64_t len[2]);

/* At creation: writes a->g into the mapping, commits the first `units`
   units (their memory must exist: 1 <= units <= a->g.units) and makes them
   free. Sets a->committed. MMFA_EINVAL (nothing written) for a bad units. */
int mmfa_format(struct mmfa_ctx *a, uint64_t units);

/* Learns the committed units from the mapping: loads h->committed (acquire),
   checks it is at least the ctx's copy, at most the reserve and not 0, and
   updates the copy. MMFA_ECORRUPT, ctx unchanged, otherwise. Call it with
   the mutex held (another process may have grown the heap), or at attach
   before the ctx is shared. */
int mmfa_sync(struct mmfa_ctx *a);

/* After mmfa_alloc said MMFA_ENOSPC for this order (mutex held): the least
   committed units after which a block of the order can certainly be
   allocated. That is round_up(committed, 2^order) if the units from
   round_down(committed, 2^order) to the end are all free (the grown range
   completes an aligned block), else round_up(committed, 2^order) +
   2^order. MMFA_ENOSPC if that is past the reserve (or order > g.max_order). */
int mmfa_grow_target(const struct mmfa_ctx *a, unsigned order, uint64_t *units);

/*
 * Grows the committed prefix to new_units: mutex held, mmfa_sync done, and
 * the memory of mmfa_commit_ranges(committed, new_units) already committed.
 * Zeroes the new units' meta bytes, publishes h->committed (release), then
 * frees the new units as maximal aligned blocks, coalescing with free
 * buddies below the old end. MMFA_EINVAL (nothing done) unless committed <
 * new_units <= reserve; MMFA_ECORRUPT (nothing done) if the mapping's count
 * is not the ctx's copy (not synced, or damaged).
 *
 * A kill -9 inside: before the publish, nothing visible changed (the zeroed
 * meta bytes lie past the committed count); after it, some of the new units
 * are on no free list, and mmfa_rebuild over the committed units (crash
 * recovery, after mmfa_sync) makes them free.
 */
int mmfa_grow(struct mmfa_ctx *a, uint64_t new_units);

/* The smallest order whose blocks hold bytes (>= 1), or -1 if none can even
   in the whole reserve (a block that fits only after growth has an order). */
int mmfa_order_for(const struct mmfa_ctx *a, uint64_t bytes);

MMF_INLINE uint64_t mmfa_block_size(unsigned order) {
    return (uint64_t)MMFA_UNIT << order;
}

/* Allocates a block of the given order; its offset in *off. MMFA_ENOSPC if no
   committed free block is large enough (mmfa_grow_target says how far to
   grow). */
int mmfa_alloc(const struct mmfa_ctx *a, unsigned order, uint64_t *off);

/* Frees a block that mmfa_alloc returned, coalescing it with free buddies.
   MMFA_ECORRUPT (and nothing freed) if off is not an allocated block of that
   order. */
int mmfa_free(const struct mmfa_ctx *a, uint64_t off, unsigned order);

/* Whether off is the start of an allocated block of that order. */
int mmfa_is_allocated(const struct mmfa_ctx *a, uint64_t off, unsigned order);

/* Walks the committed heap: blocks tile the committed units exactly, every
   free block is on the list of its order once, lists are whole, counts
   right, and the mapping's committed count is the ctx's. Problems go to
   report (may be NULL). MMFA_OK or MMFA_ECORRUPT. */
int mmfa_check(const struct mmfa_ctx *a, FILE *report);

/* Rebuilds meta and free lists of the committed units given the live blocks
   (call mmfa_sync first: a grower may have died after publishing): live(ctx,
   &off, &order) yields the next live block and returns 0, or 1 when there
   are no more. MMFA_ECORRUPT (heap untouched past the marking) if a live
   block is misplaced or overlaps another. */
typedef int (*mmfa_live_fn)(void *ctx, uint64_t *off, unsigned *order);
int mmfa_rebuild(const struct mmfa_ctx *a, mmfa_live_fn live, void *ctx);

typedef struct mmfa_usage {
    uint64_t used, free, largest_free; /* bytes, within the committed units */
    uint64_t committed, reserved;      /* bytes of arena: committed, and the reserve */
} mmfa_usage;
void mmfa_get_usage(const struct mmfa_ctx *a, mmfa_usage *u);

/* Calls fn for every committed block in address order (for the dump). */
typedef void (*mmfa_block_fn)(void *ctx, uint64_t off, unsigned order, int is_free);
int mmfa_walk(const struct mmfa_ctx *a, mmfa_block_fn fn, void *ctx);

#endif
