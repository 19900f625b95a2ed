/* The buddy allocator on its own, over a heap in ordinary memory. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#include "../alloc/alloc.h"
#include "testutil.h"

#define REGION (1u << 20)

static unsigned char *region;
static struct mmfa_heap state; /* what a mapping would hold */
static struct mmfa_ctx heap;   /* the private view of it */

/* A heap at offset 4096 of a 1 MiB region; with pow2 the arena is exactly
   a power of two units. */
static void setup(uint64_t avail) {
    free(region);
    region = aligned_alloc(4096, REGION);
    memset(region, 0xa5, REGION); /* the allocator must not rely on zeros */
    heap.base = region;
    heap.h = &state;
    store_relaxed(&heap.committed, 0);
    CU_ASSERT_EQUAL_FATAL(mmfa_plan(4096, avail, &heap.g), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(mmfa_format(&heap, heap.g.units), MMFA_OK);
    CU_ASSERT_EQUAL(memcmp(&state.geo, &heap.g, sizeof heap.g), 0);
}

static uint64_t free_bytes(void) {
    mmfa_usage u;
    mmfa_get_usage(&heap, &u);
    return u.free;
}

static void test_plan_rejects_tiny(void) {
    struct mmfa_geometry h;
    CU_ASSERT_EQUAL(mmfa_plan(4096, 64, &h), MMFA_EINVAL);
    CU_ASSERT_EQUAL(mmfa_plan(4096, 0, &h), MMFA_EINVAL);
    CU_ASSERT_EQUAL(mmfa_plan(4096, 200, &h), MMFA_OK);
    CU_ASSERT(mmfa_geometry_ok(&h, 8192));
    CU_ASSERT(!mmfa_geometry_ok(&h, 4100));
}

static void test_format_is_whole(void) {
    setup(500000);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    CU_ASSERT_EQUAL(free_bytes(), heap.g.units * MMFA_UNIT);
    mmfa_usage u;
    mmfa_get_usage(&heap, &u);
    CU_ASSERT_EQUAL(u.used, 0);
    CU_ASSERT_EQUAL(u.largest_free, mmfa_block_size(heap.g.max_order));
}

static void test_order_for(void) {
    setup(500000);
    CU_ASSERT_EQUAL(mmfa_order_for(&heap, 1), 0);
    CU_ASSERT_EQUAL(mmfa_order_for(&heap, 64), 0);
    CU_ASSERT_EQUAL(mmfa_order_for(&heap, 65), 1);
    CU_ASSERT_EQUAL(mmfa_order_for(&heap, 4096), 6);
    CU_ASSERT_EQUAL(mmfa_order_for(&heap, (uint64_t)REGION * 4), -1);
}

static void test_exhaustion_and_coalescing(void) {
    /* (avail - 64) / 65 = 4096 units exactly: one block of max order */
    setup(4096u * 65 + 64);
    CU_ASSERT_EQUAL_FATAL(heap.g.units, 4096);
    uint64_t *offs = malloc(heap.g.units * sizeof *offs), n = 0, off;
    while (mmfa_alloc(&heap, 0, &off) == MMFA_OK)
        offs[n++] = off;
    CU_ASSERT_EQUAL(n, heap.g.units);
    CU_ASSERT_EQUAL(free_bytes(), 0);
    CU_ASSERT_EQUAL(mmfa_alloc(&heap, 0, &off), MMFA_ENOSPC);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    srand(7);
    for (uint64_t i = n - 1; i > 0; i--) { /* free in a random order */
        uint64_t j = (uint64_t)rand() % (i + 1), t = offs[i];
        offs[i] = offs[j];
        offs[j] = t;
    }
    for (uint64_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(mmfa_free(&heap, offs[i], 0), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[heap.g.max_order]), 1);
    mmfa_usage u;
    mmfa_get_usage(&heap, &u);
    CU_ASSERT_EQUAL(u.largest_free, heap.g.units * MMFA_UNIT);
    free(offs);
}

struct live {
    uint64_t off;
    unsigned order;
};

static int overlaps(const struct live *l, int n) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            uint64_t a0 = l[i].off, a1 = a0 + mmfa_block_size(l[i].order);
            uint64_t b0 = l[j].off, b1 = b0 + mmfa_block_size(l[j].order);
            if (a0 < b1 && b0 < a1) return 1;
        }
    return 0;
}

static void test_random_against_model(void) {
    setup(REGION - 8192);
    unsigned seed = (unsigned)getpid();
    printf("\n  seed %u\n", seed);
    srand(seed);
    struct live live[300];
    int n = 0;
    uint64_t used = 0;
    for (int step = 0; step < 20000; step++) {
        if (n < 300 && (n == 0 || rand() % 2)) {
            unsigned order = (unsigned)(rand() % 7);
            uint64_t off;
            int rc = mmfa_alloc(&heap, order, &off);
            if (rc == MMFA_ENOSPC) continue;
            CU_ASSERT_EQUAL_FATAL(rc, MMFA_OK);
            CU_ASSERT_EQUAL((off - heap.g.arena_off) % mmfa_block_size(order), 0);
            live[n++] = (struct live){off, order};
            used += mmfa_block_size(order);
        } else {
            int i = rand() % n;
            CU_ASSERT_EQUAL_FATAL(mmfa_free(&heap, live[i].off, live[i].order), MMFA_OK);
            used -= mmfa_block_size(live[i].order);
            live[i] = live[--n];
        }
        if (step % 500 == 0) {
            CU_ASSERT_FATAL(!overlaps(live, n));
            CU_ASSERT_EQUAL_FATAL(mmfa_check(&heap, stderr), MMFA_OK);
            mmfa_usage u;
            mmfa_get_usage(&heap, &u);
            CU_ASSERT_EQUAL_FATAL(u.used, used);
            CU_ASSERT_EQUAL_FATAL(u.used + u.free, heap.g.units * MMFA_UNIT);
        }
    }
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(mmfa_free(&heap, live[i].off, live[i].order), 0);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    CU_ASSERT_EQUAL(free_bytes(), heap.g.units * MMFA_UNIT);
}

/* A cursor over a list of live blocks, for mmfa_rebuild. */
struct live_list {
    const struct live *v;
    int n, next;
};
static int list_fn(void *ctx, uint64_t *off, unsigned *order) {
    struct live_list *l = ctx;
    if (l->next >= l->n) return 1;
    *off = l->v[l->next].off;
    *order = l->v[l->next].order;
    l->next++;
    return 0;
}

static struct live rebuild_set[64];
static int rebuild_n;

static void test_rebuild_from_live_blocks(void) {
    setup(REGION - 8192);
    rebuild_n = 0;
    for (int i = 0; i < 64; i++) {
        uint64_t off;
        unsigned order = (unsigned)(i % 5);
        CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, order, &off), MMFA_OK);
        if (i % 2) /* the odd ones are "leaked": no slot references them */
            rebuild_set[rebuild_n++] = (struct live){off, order};
    }
    /* wreck the lists as a crash in the middle of a split would */
    store_relaxed(&state.free_head[0], 0);
    store_relaxed(&state.free_count[3], 12345);
    CU_ASSERT_EQUAL(mmfa_check(&heap, NULL), MMFA_ECORRUPT);
    CU_ASSERT_EQUAL(mmfa_rebuild(&heap, list_fn, &(struct live_list){rebuild_set, rebuild_n, 0}),
                    MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    uint64_t used = 0;
    for (int i = 0; i < rebuild_n; i++) {
        CU_ASSERT(mmfa_is_allocated(&heap, rebuild_set[i].off, rebuild_set[i].order));
        used += mmfa_block_size(rebuild_set[i].order);
    }
    mmfa_usage u;
    mmfa_get_usage(&heap, &u);
    CU_ASSERT_EQUAL(u.used, used);
    for (int i = 0; i < rebuild_n; i++)
        CU_ASSERT_EQUAL(mmfa_free(&heap, rebuild_set[i].off, rebuild_set[i].order), 0);
    CU_ASSERT_EQUAL(free_bytes(), heap.g.units * MMFA_UNIT);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);

    /* two live blocks that overlap cannot be rebuilt */
    rebuild_n = 2;
    rebuild_set[0] = (struct live){heap.g.arena_off, 2};
    rebuild_set[1] = (struct live){heap.g.arena_off + 64, 0};
    CU_ASSERT_EQUAL(mmfa_rebuild(&heap, list_fn, &(struct live_list){rebuild_set, rebuild_n, 0}),
                    MMFA_ECORRUPT);
}

static void test_damage_is_detected(void) {
    setup(REGION - 8192);
    uint64_t a, b, c;
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, 0, &a), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, 0, &b), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, 0, &c), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_free(&heap, a, 0), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_free(&heap, c, 0), MMFA_OK);
    /* freeing twice, at the wrong order, or a wild offset changes nothing */
    CU_ASSERT_EQUAL(mmfa_free(&heap, a, 0), MMFA_ECORRUPT);
    CU_ASSERT_EQUAL(mmfa_free(&heap, b, 1), MMFA_ECORRUPT);
    CU_ASSERT_EQUAL(mmfa_free(&heap, b + 8, 0), MMFA_ECORRUPT);
    CU_ASSERT_EQUAL(mmfa_free(&heap, 12, 0), MMFA_ECORRUPT);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);

    /* a free list that loops back on itself */
    struct mmfa_free_block *fb = (struct mmfa_free_block *)(region + c);
    uint64_t saved = load_relaxed(&fb->next);
    store_relaxed(&fb->next, c);
    CU_ASSERT_EQUAL(mmfa_check(&heap, NULL), MMFA_ECORRUPT);
    store_relaxed(&fb->next, saved);
    /* a free list that points outside the heap */
    store_relaxed(&state.free_head[0], REGION * 2);
    CU_ASSERT_EQUAL(mmfa_check(&heap, NULL), MMFA_ECORRUPT);
    uint64_t off;
    CU_ASSERT_EQUAL(mmfa_alloc(&heap, 0, &off), MMFA_ECORRUPT);
    store_relaxed(&state.free_head[0], a);
    /* a damaged meta byte */
    region[heap.g.meta_off + 1] = 0x33;
    CU_ASSERT_EQUAL(mmfa_check(&heap, NULL), MMFA_ECORRUPT);
}

/* The geometry in the mapping is written at creation and never read again:
   another process overwriting it changes nothing for us. A free-list head
   that is not a free block is not followed when a block is pushed. */
static void test_mapped_geometry_ignored(void) {
    setup(REGION - 8192);
    memset(&state.geo, 0xff, sizeof state.geo);
    state.geo.meta_off = 1ull << 40;
    uint64_t a, b;
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, 0, &a), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, 3, &b), MMFA_OK);
    CU_ASSERT(mmfa_is_allocated(&heap, a, 0));
    CU_ASSERT_EQUAL(mmfa_free(&heap, b, 3), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    /* a wild head on the list a freed block joins (a block of the largest
       order has no buddy to merge with): the push does not follow it, and
       the check then reports the lost list */
    uint64_t c;
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, heap.g.max_order, &c), MMFA_OK);
    for (unsigned k = 0; k < MMFA_ORDERS; k++)
        store_relaxed(&state.free_head[k], 1ull << 40);
    CU_ASSERT_EQUAL(mmfa_free(&heap, c, heap.g.max_order), MMFA_OK);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_head[heap.g.max_order]), c);
    CU_ASSERT_EQUAL(mmfa_check(&heap, NULL), MMFA_ECORRUPT);
}

/* ---- growth ------------------------------------------------------------ */

static uint64_t committed(const struct mmfa_ctx *a) {
    return load_relaxed(&a->committed);
}

static uint64_t page_down(uint64_t x) {
    return x & ~4095ull;
}
static uint64_t page_up(uint64_t x) {
    return (x + 4095) & ~4095ull;
}

/* What core would do: commit the memory (here: nothing to do), then grow. */
static int grow_to(struct mmfa_ctx *a, uint64_t units) {
    return mmfa_grow(a, units);
}

static void test_commit_math(void) {
    struct mmfa_geometry g;
    /* a reserve of 1000 units at a meta offset that is not page-aligned */
    CU_ASSERT_EQUAL_FATAL(mmfa_plan(4096 + 256, 1000u * 65 + 64, &g), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(g.units, 1000);
    CU_ASSERT_EQUAL(mmfa_commit_bytes(&g, 0), 0);
    /* the meta area ends at arena_off, inside the page that begins at 4096 */
    CU_ASSERT_EQUAL(g.arena_off, 4096 + 256 + 1024);
    CU_ASSERT_EQUAL(mmfa_commit_bytes(&g, 1), 1024 + 64);
    CU_ASSERT_EQUAL(mmfa_commit_bytes(&g, 1000), 1024 + 64000);
    for (uint64_t bytes = 0; bytes < 70000; bytes += 97) {
        uint64_t u = mmfa_units_for_bytes(&g, bytes);
        CU_ASSERT(u <= g.units);
        CU_ASSERT(mmfa_commit_bytes(&g, u) <= bytes);
        if (u < g.units) CU_ASSERT(mmfa_commit_bytes(&g, u + 1) > bytes);
    }
    CU_ASSERT_EQUAL(mmfa_units_for_bytes(&g, 1087), 0);
    CU_ASSERT_EQUAL(mmfa_units_for_bytes(&g, 1088), 1);
    CU_ASSERT_EQUAL(mmfa_units_for_bytes(&g, UINT64_MAX), g.units);

    /* a large reserve: meta pages are whole, ranges add up */
    CU_ASSERT_EQUAL_FATAL(mmfa_plan(8192 + 256, 100000ull * 65 + 64, &g), MMFA_OK);
    uint64_t off[2], len[2], moff[2], mlen[2];
    CU_ASSERT_EQUAL(mmfa_commit_ranges(&g, 0, 5000, off, len), MMFA_OK);
    CU_ASSERT_EQUAL(off[0], g.meta_off);
    CU_ASSERT_EQUAL(off[0] + len[0], page_up(g.meta_off + 5000));
    CU_ASSERT_EQUAL(off[1], g.arena_off);
    CU_ASSERT_EQUAL(len[1], 5000u * 64);
    CU_ASSERT_EQUAL(mmfa_commit_bytes(&g, 5000), len[0] + len[1]);
    uint64_t prev_meta_end = off[0] + len[0], prev_arena_end = off[1] + len[1];
    uint64_t steps[] = {5001, 5002, 8000, 8191, 12289, 99999, 100000};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        uint64_t from = i ? steps[i - 1] : 5000;
        CU_ASSERT_EQUAL_FATAL(mmfa_commit_ranges(&g, from, steps[i], moff, mlen), MMFA_OK);
        CU_ASSERT_EQUAL(moff[0], prev_meta_end); /* contiguous with what came before */
        CU_ASSERT_EQUAL(moff[1], prev_arena_end);
        CU_ASSERT(moff[0] % 4096 == 0 || moff[0] == g.arena_off);
        CU_ASSERT((moff[0] + mlen[0]) % 4096 == 0 || moff[0] + mlen[0] == g.arena_off);
        CU_ASSERT(moff[0] + mlen[0] >= g.meta_off + steps[i]);
        CU_ASSERT(moff[0] + mlen[0] <= g.arena_off);
        prev_meta_end = moff[0] + mlen[0];
        prev_arena_end = moff[1] + mlen[1];
    }
    CU_ASSERT_EQUAL(prev_arena_end, g.arena_off + g.units * 64);
    CU_ASSERT_EQUAL(mmfa_commit_ranges(&g, 0, 100000, off, len), MMFA_OK);
    CU_ASSERT_EQUAL(off[0] + len[0], prev_meta_end);
    CU_ASSERT_EQUAL(mmfa_commit_ranges(&g, 7, 7, off, len), MMFA_OK);
    CU_ASSERT_EQUAL(len[0] + len[1], 0);
    CU_ASSERT_EQUAL(mmfa_commit_ranges(&g, 8, 7, off, len), MMFA_EINVAL);
    CU_ASSERT_EQUAL(mmfa_commit_ranges(&g, 0, 100001, off, len), MMFA_EINVAL);
}

static void test_format_commits_a_prefix(void) {
    setup(1000u * 65 + 64);
    CU_ASSERT_EQUAL_FATAL(heap.g.units, 1000);
    CU_ASSERT_EQUAL(mmfa_format(&heap, 0), MMFA_EINVAL);
    CU_ASSERT_EQUAL(mmfa_format(&heap, 1001), MMFA_EINVAL);
    CU_ASSERT_EQUAL(committed(&heap), 1000); /* a refused format changes nothing */
    CU_ASSERT_EQUAL_FATAL(mmfa_format(&heap, 13), MMFA_OK);
    CU_ASSERT_EQUAL(committed(&heap), 13);
    CU_ASSERT_EQUAL(load_relaxed(&state.committed), 13);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    mmfa_usage u;
    mmfa_get_usage(&heap, &u);
    CU_ASSERT_EQUAL(u.committed, 13 * 64);
    CU_ASSERT_EQUAL(u.reserved, 1000 * 64);
    CU_ASSERT_EQUAL(u.free, 13 * 64);
    CU_ASSERT_EQUAL(u.largest_free, 8 * 64);
    /* 13 = 8 + 4 + 1 */
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[3]), 1);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[2]), 1);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[0]), 1);
    /* order_for answers for the reserve; alloc for what is committed */
    CU_ASSERT_EQUAL(mmfa_order_for(&heap, 64 * 512), 9);
    uint64_t off, t;
    CU_ASSERT_EQUAL(mmfa_alloc(&heap, 9, &off), MMFA_ENOSPC);
    CU_ASSERT_EQUAL(mmfa_alloc(&heap, 4, &off), MMFA_ENOSPC);
    /* [0, 13) is all free: growing to 16 makes it one block of order 4 */
    CU_ASSERT_EQUAL(mmfa_grow_target(&heap, 4, &t), MMFA_OK);
    CU_ASSERT_EQUAL(t, 16);
    CU_ASSERT_EQUAL(mmfa_grow_target(&heap, 9, &t), MMFA_OK);
    CU_ASSERT_EQUAL(t, 512);
    CU_ASSERT_EQUAL(mmfa_grow_target(&heap, heap.g.max_order + 1, &t), MMFA_ENOSPC);
    /* with unit 12 in use, the window [0, 16) cannot be whole: [16, 32) */
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, 0, &off), MMFA_OK);
    CU_ASSERT_EQUAL(off, heap.g.arena_off + 12 * 64);
    CU_ASSERT_EQUAL(mmfa_grow_target(&heap, 4, &t), MMFA_OK);
    CU_ASSERT_EQUAL(t, 32);
    CU_ASSERT_EQUAL(mmfa_grow_target(&heap, 2, &t), MMFA_OK); /* [12, 16) is not free */
    CU_ASSERT_EQUAL(t, 20);
    CU_ASSERT_EQUAL(mmfa_free(&heap, off, 0), MMFA_OK);
    CU_ASSERT_EQUAL(grow_to(&heap, 16), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_alloc(&heap, 4, &off), MMFA_OK);
    CU_ASSERT_EQUAL(off, heap.g.arena_off);
    CU_ASSERT_EQUAL(mmfa_free(&heap, off, 4), MMFA_OK);
    CU_ASSERT_EQUAL(grow_to(&heap, 512), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_alloc(&heap, 9, &off), MMFA_OK);
    CU_ASSERT_EQUAL(off, heap.g.arena_off); /* [0, 13) and the new units merged */
    /* 512 + 512 > 1000: an order-9 block does not fit the reserve again */
    CU_ASSERT_EQUAL(mmfa_grow_target(&heap, 9, &t), MMFA_ENOSPC);
    CU_ASSERT_EQUAL(mmfa_grow_target(&heap, 8, &t), MMFA_OK);
    CU_ASSERT_EQUAL(t, 768);
    CU_ASSERT_EQUAL(mmfa_grow_target(&heap, 0, &t), MMFA_OK); /* [0, 512) is in use */
    CU_ASSERT_EQUAL(t, 513);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
}

/* [0, 4) free and a growth to 8 end as one free block of order 3; a growth
   by an odd count merges in steps up to the old blocks. */
static void test_grow_coalesces_across_the_boundary(void) {
    setup(16u * 65 + 64);
    CU_ASSERT_EQUAL_FATAL(heap.g.units, 16);
    CU_ASSERT_EQUAL_FATAL(mmfa_format(&heap, 4), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(grow_to(&heap, 8), MMFA_OK);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[3]), 1);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[2]), 0);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_head[3]), heap.g.arena_off);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);

    CU_ASSERT_EQUAL_FATAL(mmfa_format(&heap, 4), MMFA_OK);
    uint64_t a, b;
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, 2, &a), MMFA_OK); /* all of [0, 4) */
    CU_ASSERT_EQUAL_FATAL(grow_to(&heap, 8), MMFA_OK);        /* [4, 8) stays alone */
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[2]), 1);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(mmfa_free(&heap, a, 2), MMFA_OK); /* now they merge */
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[3]), 1);
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&heap, 0, &b), MMFA_OK);
    CU_ASSERT_EQUAL(b, heap.g.arena_off);
    /* [8, 13): 8 of order 2, 12 of order 0; 13 is not a buddy of 12 yet */
    CU_ASSERT_EQUAL_FATAL(grow_to(&heap, 13), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[0]), 2); /* units 1 and 12 */
    CU_ASSERT_EQUAL_FATAL(mmfa_free(&heap, b, 0), MMFA_OK);
    /* [13, 16): 13 merges with 12, 14 with [12, 14), then with 8, then with 0 */
    CU_ASSERT_EQUAL_FATAL(grow_to(&heap, 16), MMFA_OK);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[4]), 1);
    for (unsigned k = 0; k < 4; k++)
        CU_ASSERT_EQUAL(load_relaxed(&state.free_count[k]), 0);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    /* nothing past the reserve, and no shrinking */
    CU_ASSERT_EQUAL(grow_to(&heap, 17), MMFA_EINVAL);
    CU_ASSERT_EQUAL(grow_to(&heap, 16), MMFA_EINVAL);
    CU_ASSERT_EQUAL_FATAL(mmfa_format(&heap, 9), MMFA_OK);
    CU_ASSERT_EQUAL(grow_to(&heap, 5), MMFA_EINVAL);
    CU_ASSERT_EQUAL(committed(&heap), 9);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
}

/*
 * A heap at the end of a mapping whose uncommitted part is PROT_NONE: any
 * read or write past the committed pages faults, and the test process dies
 * saying where. The bytes of the last committed pages past the committed
 * units are poisoned: meta bytes that look like free blocks (a coalescing
 * that looked at a buddy beyond the end would try to merge with it and
 * fail), arena bytes that must stay as they are.
 */
#define GUARD_UNITS 16384u /* a multiple of 4096: the arena starts on a page */
static unsigned char *guard_map;
static size_t guard_len;

static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    char msg[128];
    long rel = (long)((unsigned char *)si->si_addr - guard_map);
    int n =
        snprintf(msg, sizeof msg, "\n  signal %d: touched offset %ld of the mapping\n", sig, rel);
    if (write(2, msg, (size_t)n) < 0) _exit(3);
    _exit(3);
}

static uint8_t poison_meta(const struct mmfa_geometry *g, uint64_t unit) {
    unsigned k = 0;
    while (k < g->max_order && !(unit & (1ull << k)))
        k++;
    return MMFA_META_FREE(k);
}

/* Leaves the committed ranges of the first units units readable and
   writable, the rest PROT_NONE, and poisons the slack of the last pages. */
static void guard(const struct mmfa_ctx *a, uint64_t units) {
    const struct mmfa_geometry *g = &a->g;
    uint64_t off[2], len[2];
    CU_ASSERT_EQUAL_FATAL(mmfa_commit_ranges(g, 0, units, off, len), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(mprotect(guard_map + 4096, guard_len - 4096, PROT_NONE), 0);
    for (int i = 0; i < 2; i++) {
        uint64_t lo = page_down(off[i]), hi = page_up(off[i] + len[i]);
        CU_ASSERT_EQUAL_FATAL(mprotect(guard_map + lo, hi - lo, PROT_READ | PROT_WRITE), 0);
    }
    for (uint64_t m = g->meta_off + units; m < off[0] + len[0]; m++)
        guard_map[m] = poison_meta(g, m - g->meta_off);
    memset(guard_map + off[1] + len[1], 0xa5, page_up(off[1] + len[1]) - (off[1] + len[1]));
}

static int poison_intact(const struct mmfa_ctx *a, uint64_t units) {
    const struct mmfa_geometry *g = &a->g;
    uint64_t off[2], len[2];
    mmfa_commit_ranges(g, 0, units, off, len);
    for (uint64_t m = g->meta_off + units; m < off[0] + len[0]; m++)
        if (guard_map[m] != poison_meta(g, m - g->meta_off)) return 0;
    for (uint64_t b = off[1] + len[1]; b < page_up(off[1] + len[1]); b++)
        if (guard_map[b] != 0xa5) return 0;
    return 1;
}

static void fill(uint64_t off, unsigned order) {
    uint64_t *w = (uint64_t *)(guard_map + off);
    for (uint64_t i = 0; i < mmfa_block_size(order) / 8; i++)
        w[i] = off * 31 + i;
}

static int filled(uint64_t off, unsigned order) {
    const uint64_t *w = (const uint64_t *)(guard_map + off);
    for (uint64_t i = 0; i < mmfa_block_size(order) / 8; i++)
        if (w[i] != off * 31 + i) return 0;
    return 1;
}

static void test_grow_in_steps_touches_nothing_past_committed(void) {
    struct mmfa_heap gstate;
    struct mmfa_ctx a = {.h = &gstate};
    CU_ASSERT_EQUAL_FATAL(mmfa_plan(4096, GUARD_UNITS * 65ull + 64, &a.g), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(a.g.units, GUARD_UNITS);
    CU_ASSERT_EQUAL_FATAL(a.g.arena_off % 4096, 0);
    guard_len = a.g.arena_off + GUARD_UNITS * 64ull;
    guard_map = mmap(NULL, guard_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(guard_map != MAP_FAILED);
    a.base = guard_map;
    struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO}, old_segv, old_bus;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);

    unsigned seed = (unsigned)getpid() ^ 0x9e37u;
    printf("\n  seed %u\n", seed);
    srand(seed);
    guard(&a, 1);
    CU_ASSERT_EQUAL_FATAL(mmfa_format(&a, 1), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_check(&a, stderr), MMFA_OK);
    struct live *blocks = malloc(GUARD_UNITS * sizeof *blocks);
    uint64_t n = 0, used = 0, grows = 0;
    for (int step = 0; step < 200000; step++) {
        unsigned order = (unsigned)(rand() % 7);
        uint64_t off, c = committed(&a), t;
        int rc = mmfa_alloc(&a, order, &off);
        if (rc == MMFA_OK) {
            CU_ASSERT_FATAL(mmfa_is_allocated(&a, off, order));
            CU_ASSERT_FATAL(off + mmfa_block_size(order) <= a.g.arena_off + c * 64);
            fill(off, order);
            blocks[n++] = (struct live){off, order};
            used += mmfa_block_size(order);
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(rc, MMFA_ENOSPC);
        if (mmfa_grow_target(&a, order, &t) == MMFA_OK) {
            /* as core would: at least the target, in uneven steps */
            uint64_t step_to = c + 1 + (uint64_t)rand() % (c / 2 + 1);
            if (t < step_to) t = step_to;
            if (t > a.g.units) t = a.g.units;
        } else if (c < a.g.units) {
            t = a.g.units; /* the order does not fit: commit the rest */
        } else if (order == 0) {
            break; /* every unit of the reserve is in use */
        } else {
            continue;
        }
        guard(&a, t); /* core commits the memory first */
        CU_ASSERT_EQUAL_FATAL(mmfa_sync(&a), MMFA_OK);
        CU_ASSERT_EQUAL_FATAL(mmfa_grow(&a, t), MMFA_OK);
        grows++;
        CU_ASSERT_EQUAL_FATAL(committed(&a), t);
        CU_ASSERT_EQUAL_FATAL(mmfa_check(&a, stderr), MMFA_OK);
        CU_ASSERT_FATAL(poison_intact(&a, t));
    }
    printf("  %llu blocks in %llu growths\n", (unsigned long long)n, (unsigned long long)grows);
    CU_ASSERT(grows > 10);
    mmfa_usage u;
    mmfa_get_usage(&a, &u);
    CU_ASSERT_EQUAL(u.used, used);
    CU_ASSERT_EQUAL(used, GUARD_UNITS * 64ull); /* everything allocated */
    CU_ASSERT_EQUAL(u.free, 0);
    CU_ASSERT_EQUAL(u.committed, GUARD_UNITS * 64ull);
    int intact = 1;
    for (uint64_t i = 0; i < n; i++)
        intact &= filled(blocks[i].off, blocks[i].order); /* no two blocks overlap */
    CU_ASSERT(intact);
    for (uint64_t i = n; i > 1; i--) { /* free in a random order */
        uint64_t j = (uint64_t)rand() % i;
        struct live tmp = blocks[i - 1];
        blocks[i - 1] = blocks[j];
        blocks[j] = tmp;
    }
    for (uint64_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL_FATAL(mmfa_free(&a, blocks[i].off, blocks[i].order), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_check(&a, stderr), MMFA_OK);
    CU_ASSERT_EQUAL(load_relaxed(&gstate.free_count[a.g.max_order]), 1);
    free(blocks);
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    munmap(guard_map, guard_len);
}

/* A reserve that is not a power of two, grown a unit at a time. */
static void test_grow_unit_by_unit(void) {
    setup(100u * 65 + 64);
    CU_ASSERT_EQUAL_FATAL(heap.g.units, 100);
    CU_ASSERT_EQUAL_FATAL(mmfa_format(&heap, 1), MMFA_OK);
    for (uint64_t c = 2; c <= 100; c++) {
        CU_ASSERT_EQUAL_FATAL(grow_to(&heap, c), MMFA_OK);
        CU_ASSERT_EQUAL_FATAL(mmfa_check(&heap, stderr), MMFA_OK);
        CU_ASSERT_EQUAL_FATAL(free_bytes(), c * 64);
    }
    /* 100 = 64 + 32 + 4 */
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[6]), 1);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[5]), 1);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[2]), 1);
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[0]), 0);
}

/* Two handles over one heap: one that has not synced refuses what lies past
   what it knows, cannot grow, and a sync accepts only a count that can be.
   (A handle must sync each time it takes the mutex: one that frees without
   it would not merge past the end it knows, nor follow a list head there.) */
static void test_sync(void) {
    setup(64u * 65 + 64);
    CU_ASSERT_EQUAL_FATAL(heap.g.units, 64);
    CU_ASSERT_EQUAL_FATAL(mmfa_format(&heap, 8), MMFA_OK);
    struct mmfa_ctx other = {.base = region, .g = heap.g, .h = &state};
    CU_ASSERT_EQUAL_FATAL(mmfa_sync(&other), MMFA_OK); /* as at attach */
    CU_ASSERT_EQUAL(committed(&other), 8);

    CU_ASSERT_EQUAL_FATAL(grow_to(&heap, 16), MMFA_OK); /* [0, 16): one block */
    uint64_t off;
    CU_ASSERT_EQUAL(mmfa_alloc(&other, 3, &off), MMFA_ECORRUPT); /* a block past 8 */
    CU_ASSERT_EQUAL(mmfa_check(&other, NULL), MMFA_ECORRUPT);
    CU_ASSERT_EQUAL(mmfa_grow(&other, 24), MMFA_ECORRUPT); /* it would free [8, 16) twice */
    CU_ASSERT_EQUAL(committed(&other), 8);
    CU_ASSERT_EQUAL(load_relaxed(&state.committed), 16);
    CU_ASSERT_EQUAL_FATAL(mmfa_sync(&other), MMFA_OK);
    CU_ASSERT_EQUAL(committed(&other), 16);
    CU_ASSERT_EQUAL(mmfa_check(&other, stderr), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&other, 3, &off), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(mmfa_grow(&other, 32), MMFA_OK);
    /* the first handle, the next time it holds the mutex */
    CU_ASSERT_EQUAL(mmfa_check(&heap, NULL), MMFA_ECORRUPT); /* not synced */
    CU_ASSERT_EQUAL_FATAL(mmfa_sync(&heap), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_free(&heap, off, 3), MMFA_OK); /* merges up to order 5 */
    CU_ASSERT_EQUAL(load_relaxed(&state.free_count[5]), 1);
    CU_ASSERT_EQUAL(mmfa_check(&heap, stderr), MMFA_OK);

    /* counts that cannot be: refused, the copy unchanged */
    uint64_t bad[] = {0, 16, 31, 65, 1ull << 40};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        store_relaxed(&state.committed, bad[i]);
        CU_ASSERT_EQUAL(mmfa_sync(&heap), MMFA_ECORRUPT);
        CU_ASSERT_EQUAL(committed(&heap), 32);
    }
    store_relaxed(&state.committed, 64); /* the reserve itself is fine */
    CU_ASSERT_EQUAL(mmfa_sync(&heap), MMFA_OK);
    CU_ASSERT_EQUAL(committed(&heap), 64);
}

/* The live blocks of the crash tests. */
static struct live crash_live[8];
static int crash_n;

/*
 * kill -9 inside mmfa_grow, at a named point, in a child that shares the
 * heap: crash recovery (sync, then rebuild from the live blocks) leaves the
 * heap whole, the new units free and the live blocks live.
 */
static void crash_grow_at(const char *point) {
    size_t len = 4096 + 256 * 65 + 64 + 4096;
    unsigned char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(map != MAP_FAILED);
    struct mmfa_ctx a = {.base = map, .h = (struct mmfa_heap *)map}; /* the state in the mapping */
    CU_ASSERT_EQUAL_FATAL(mmfa_plan(4096, 256 * 65 + 64, &a.g), MMFA_OK);
    CU_ASSERT_EQUAL_FATAL(mmfa_format(&a, 36), MMFA_OK); /* 32 at 0, 4 at 32 */
    crash_n = 0;
    uint64_t off, tmp;
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&a, 5, &off), MMFA_OK); /* [0, 32) */
    crash_live[crash_n++] = (struct live){off, 5};
    CU_ASSERT_EQUAL_FATAL(mmfa_alloc(&a, 0, &tmp), MMFA_OK); /* 32, then freed: */
    CU_ASSERT_EQUAL_FATAL(mmfa_free(&a, tmp, 0), MMFA_OK);   /* [32, 36) free again */
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        setenv("MMF_CRASH_AT", point, 1);
        /* 200 = [36, 40) [40, 48) [48, 64) merging down to 32, then 64, 128, 192 */
        int rc = mmfa_grow(&a, 200);
        _exit(rc == MMFA_OK ? 0 : 1); /* the point was not reached */
    }
    CU_ASSERT_EQUAL(wait_child(pid), 100 + SIGKILL);
    /* recovery, as core runs it after EOWNERDEAD */
    CU_ASSERT_EQUAL_FATAL(mmfa_sync(&a), MMFA_OK);
    CU_ASSERT_EQUAL(committed(&a), 200);                  /* every point is past the publish */
    CU_ASSERT_EQUAL(mmfa_check(&a, NULL), MMFA_ECORRUPT); /* the new units are not all free */
    CU_ASSERT_EQUAL_FATAL(mmfa_rebuild(&a, list_fn, &(struct live_list){crash_live, crash_n, 0}),
                          MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_check(&a, stderr), MMFA_OK);
    CU_ASSERT(mmfa_is_allocated(&a, crash_live[0].off, 5));
    mmfa_usage u;
    mmfa_get_usage(&a, &u);
    CU_ASSERT_EQUAL(u.used, 32 * 64);
    CU_ASSERT_EQUAL(u.free, (200 - 32) * 64);
    /* nothing lost: the whole committed heap comes back as 128 + 64 + 8 */
    CU_ASSERT_EQUAL(mmfa_free(&a, crash_live[0].off, 5), MMFA_OK);
    CU_ASSERT_EQUAL(mmfa_check(&a, stderr), MMFA_OK);
    CU_ASSERT_EQUAL(load_relaxed(&a.h->free_count[7]), 1);
    CU_ASSERT_EQUAL(load_relaxed(&a.h->free_count[6]), 1);
    CU_ASSERT_EQUAL(load_relaxed(&a.h->free_count[3]), 1);
    /* and it grows on */
    CU_ASSERT_EQUAL(mmfa_grow(&a, 256), MMFA_OK);
    CU_ASSERT_EQUAL(load_relaxed(&a.h->free_count[8]), 1);
    CU_ASSERT_EQUAL(mmfa_check(&a, stderr), MMFA_OK);
    munmap(map, len);
}

static void test_crash_after_publish(void) {
    crash_grow_at("alloc.grow.published");
}

static void test_crash_while_merging_new_units(void) {
    crash_grow_at("alloc.merge@1");
    crash_grow_at("alloc.merge@3");
}

int main(void) {
    static const test_case tests[] = {
        {"plan rejects a heap too small", test_plan_rejects_tiny},
        {"format leaves the arena whole and free", test_format_is_whole},
        {"order for a size", test_order_for},
        {"exhaustion, then coalescing back to one block", test_exhaustion_and_coalescing},
        {"random operations against a model", test_random_against_model},
        {"rebuild from live blocks frees leaks", test_rebuild_from_live_blocks},
        {"damage is detected, bad frees change nothing", test_damage_is_detected},
        {"the mapped geometry is never used", test_mapped_geometry_ignored},
        {"commit sizes and file ranges", test_commit_math},
        {"format commits a prefix; alloc and grow targets", test_format_commits_a_prefix},
        {"growth coalesces across the old end", test_grow_coalesces_across_the_boundary},
        {"growth in steps, all allocated, nothing touched past committed",
         test_grow_in_steps_touches_nothing_past_committed},
        {"growth unit by unit of a reserve not a power of two", test_grow_unit_by_unit},
        {"sync: stale handles and counts that cannot be", test_sync},
        {"kill -9 after the publish, then rebuild", test_crash_after_publish},
        {"kill -9 while the new units merge, then rebuild", test_crash_while_merging_new_units},
        {NULL, NULL}};
    int rc = run_suite("alloc", tests);
    free(region);
    return rc;
}
