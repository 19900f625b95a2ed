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
 * geometry, and the shared state in the mapping. The geometry is read from
 * the mapping once (at attach) and checked with mmfa_geometry_ok before the
 * copy is used; the allocator never reads the mapped geometry, so another
 * process that changes it cannot steer us outside the mapping.
 */
struct mmfa_ctx {
    unsigned char *base;
    struct mmfa_geometry g; /* private, validated */
    struct mmfa_heap *h;    /* free lists and counts, in the mapping */
};

/* Plans a heap in [off, off + avail) of a mapping: meta bytes, then the
   arena. MMFA_EINVAL if not even one block fits. */
int mmfa_plan(uint64_t off, uint64_t avail, struct mmfa_geometry *g);

/* Checks a geometry copied from a mapping of map_size bytes (on attach). */
int mmfa_geometry_ok(const struct mmfa_geometry *g, uint64_t map_size);

/* Writes a->g into the mapping and makes the whole arena free (at creation). */
void mmfa_format(const struct mmfa_ctx *a);

/* The smallest order whose blocks hold bytes (>= 1), or -1 if none can. */
int mmfa_order_for(const struct mmfa_ctx *a, uint64_t bytes);

MMF_INLINE uint64_t mmfa_block_size(unsigned order) {
    return (uint64_t)MMFA_UNIT << order;
}

/* Allocates a block of the given order; its offset in *off. */
int mmfa_alloc(const struct mmfa_ctx *a, unsigned order, uint64_t *off);

/* Frees a block that mmfa_alloc returned, coalescing it with free buddies.
   MMFA_ECORRUPT (and nothing freed) if off is not an allocated block of that
   order. */
int mmfa_free(const struct mmfa_ctx *a, uint64_t off, unsigned order);

/* Whether off is the start of an allocated block of that order. */
int mmfa_is_allocated(const struct mmfa_ctx *a, uint64_t off, unsigned order);

/* Walks the heap: blocks tile the arena exactly, every free block is on the
   list of its order once, lists are whole and counts right. Problems go to
   report (may be NULL). MMFA_OK or MMFA_ECORRUPT. */
int mmfa_check(const struct mmfa_ctx *a, FILE *report);

/* Rebuilds meta and free lists given the live blocks: live(ctx, i, &off,
   &order) yields the i-th live block and returns 0, or 1 when there are no
   more. MMFA_ECORRUPT (heap untouched past the marking) if a live block is
   misplaced or overlaps another. */
typedef int (*mmfa_live_fn)(void *ctx, uint64_t i, uint64_t *off, unsigned *order);
int mmfa_rebuild(const struct mmfa_ctx *a, mmfa_live_fn live, void *ctx);

typedef struct mmfa_usage {
    uint64_t used, free, largest_free; /* bytes */
} mmfa_usage;
void mmfa_get_usage(const struct mmfa_ctx *a, mmfa_usage *u);

/* Calls fn for every block in address order (for the dump). */
typedef void (*mmfa_block_fn)(void *ctx, uint64_t off, unsigned order, int is_free);
int mmfa_walk(const struct mmfa_ctx *a, mmfa_block_fn fn, void *ctx);

#endif
