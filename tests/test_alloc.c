/* The buddy allocator on its own, over a heap in ordinary memory. */
#include <stdint.h>

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

static struct live rebuild_set[64];
static int rebuild_n;
static int live_fn(void *ctx, uint64_t i, uint64_t *off, unsigned *order) {
    (void)ctx;
    if (i >= (uint64_t)rebuild_n) return 1;
    *off = rebuild_set[i].off;
    *order = rebuild_set[i].order;
    return 0;
}

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
    CU_ASSERT_EQUAL(mmfa_rebuild(&heap, live_fn, NULL), MMFA_OK);
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
    CU_ASSERT_EQUAL(mmfa_rebuild(&heap, live_fn, NULL), MMFA_ECORRUPT);
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
        {NULL, NULL}};
    int rc = run_suite("alloc", tests);
    free(region);
    return rc;
}
