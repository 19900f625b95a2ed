/*
 * A namespace's image: planning the regions of a new one, writing its
 * header, and checking the header of an existing one before it is trusted.
 *
 * Every region is reserved for max_size: slots for as many variables as
 * max_size could hold, two index buffers for twice that many entries, a
 * heap as large as max_size. The file is that long and sparse; only what
 * size asks for is committed at first (see grow.c for the rest).
 */
#include <string.h>

#include "internal.h"

#define MIN_LOG2CAP 3u        /* 8 entries */
#define MIN_LOG2CAP_MAX 9u    /* a buffer of whole pages: 512 entries */
#define MAX_SIZE (1ull << 46) /* 64 TiB */

static unsigned log2_at_least(uint64_t n, unsigned lo) {
    unsigned k = lo;
    while ((1ull << k) < n)
        k++;
    return k;
}

uint64_t mmf__heap_pages(const struct mmfa_geometry *g, uint64_t units) {
    if (units == 0) return 0;
    uint64_t m0 = g->meta_off, m1 = m0 + mmf__page_up(units);
    uint64_t a0 = mmf__page_down(g->arena_off),
             a1 = mmf__page_up(g->arena_off + (units << MMFA_UNIT_SHIFT));
    uint64_t overlap = m1 > a0 ? m1 - a0 : 0;
    return (m1 - m0) + (a1 - a0) - overlap;
}

int mmf__plan(const mmf_options *opt, struct mmf_geom *g, struct mmf_commit *c) {
    memset(g, 0, sizeof *g);
    uint64_t size = opt->size ? opt->size : MMF_DEFAULT_SIZE;
    uint64_t max = opt->max_size ? opt->max_size : MMF_DEFAULT_MAX_SIZE;
    if (!opt->max_size && max < size) max = size;
    if (size > MAX_SIZE || max > MAX_SIZE || max < size) return MMF_EINVAL;
    size = mmf__page_up(size);
    max = mmf__page_up(max);
    /* by default, a slot (256 B) and its entries for every 2 KiB */
    uint64_t vars = opt->max_vars ? opt->max_vars : size / 2048;
    if (vars < 16 && !opt->max_vars) vars = 16;
    if (vars == 0 || vars > MMF_MAX_VARS) return MMF_EINVAL;
    vars = (vars + MMF_SLOT_GRAIN - 1) / MMF_SLOT_GRAIN * MMF_SLOT_GRAIN;
    if (vars > MMF_MAX_VARS) vars -= MMF_SLOT_GRAIN;
    /* no more variables than max_size has slots for, and the entries say */
    uint64_t slots_max = max / MMF_SLOT_SIZE;
    if (slots_max > MMF_MAX_VARS) slots_max = MMF_MAX_VARS;
    slots_max = slots_max / MMF_SLOT_GRAIN * MMF_SLOT_GRAIN;
    if (slots_max < vars) slots_max = vars;
    /* entries at most half full: short probes */
    unsigned lg_max = log2_at_least(2 * slots_max, MIN_LOG2CAP_MAX);
    c->log2cap = log2_at_least(2 * vars, MIN_LOG2CAP);
    c->slots = vars;
    g->max_size = max;
    g->index_cap_max = (uint32_t)(1u << lg_max);
    g->slots_max = (uint32_t)slots_max;
    g->index_off[0] = MMF_INDEX_OFF;
    g->index_off[1] = g->index_off[0] + ((uint64_t)8 << lg_max);
    g->slots_off = g->index_off[1] + ((uint64_t)8 << lg_max);
    uint64_t heap_off = g->slots_off + slots_max * MMF_SLOT_SIZE;
    if (mmfa_plan(heap_off, max, &g->heap)) return MMF_EINVAL;
    g->size = mmf__page_up(g->heap.arena_off + (g->heap.units << MMFA_UNIT_SHIFT));
    /* what size commits: header and registrations, the first index buffer,
       the slots, and the rest for the heap */
    uint64_t fixed = MMF_INDEX_OFF + mmf__page_up((uint64_t)8 << c->log2cap) + vars * MMF_SLOT_SIZE;
    if (size < fixed + 4096) return MMF_EINVAL; /* no room for a heap */
    c->units = mmfa_units_for_bytes(&g->heap, size - fixed);
    while (c->units && mmf__heap_pages(&g->heap, c->units) > size - fixed)
        c->units--;
    if (c->units == 0) return MMF_EINVAL;
    return MMF_OK;
}

void mmf__format(unsigned char *base, const struct mmf_geom *g, const struct mmf_commit *c,
                 const mmf_options *opt) {
    struct mmf_header *h = (struct mmf_header *)base;
    /* a fresh file reads as zeros: every entry EMPTY, every slot free */
    h->magic = MMF_MAGIC;
    h->layout_version = MMF_LAYOUT_VERSION;
    h->header_size = MMF_HEADER_SIZE;
    h->fingerprint = MMF_LAYOUT_FINGERPRINT;
    h->map_size = g->size;
    h->max_size = g->max_size;
    h->index_off[0] = g->index_off[0];
    h->index_off[1] = g->index_off[1];
    h->index_cap_max = g->index_cap_max;
    h->slots_max = g->slots_max;
    h->slots_off = g->slots_off;
    h->flags = opt->transient ? MMF_FLAG_TRANSIENT : 0;
    /* relaxed: nobody can see the file before link(2) publishes it */
    store_relaxed(&h->index_desc, MMF_DESC_MAKE(1, 0, c->log2cap));
    store_relaxed(&h->index_committed[0], 4096 > (8ull << c->log2cap) ? 4096 : 8ull << c->log2cap);
    store_relaxed(&h->slots_committed, c->slots);
    h->created_ns = mmf__wall_ns();
    strncpy(h->name, opt->name, sizeof h->name - 1);
    mmfa_format(&(struct mmfa_ctx){.base = base, .g = g->heap, .h = &h->heap}, c->units);
    /* release: the flag is what attach checks before it reads the rest */
    store32_release(&h->ready, 1);
}

void mmf__copy_header(const unsigned char *base, struct mmf_header_copy *c) {
    const struct mmf_header *h = (const struct mmf_header *)base;
    /* acquire: the fields below were written before ready was set */
    c->ready = load32_acquire(&h->ready);
    c->magic = h->magic;
    c->fingerprint = h->fingerprint;
    c->layout_version = h->layout_version;
    c->header_size = h->header_size;
    c->flags = h->flags;
    c->g.size = h->map_size;
    c->g.max_size = h->max_size;
    c->g.index_off[0] = h->index_off[0];
    c->g.index_off[1] = h->index_off[1];
    c->g.index_cap_max = h->index_cap_max;
    c->g.slots_max = h->slots_max;
    c->g.slots_off = h->slots_off;
    memcpy(&c->g.heap, &h->heap.geo, sizeof c->g.heap);
    memcpy(c->name, h->name, sizeof c->name);
    /* the copy is final: the compiler may not re-read a field from the
       mapping in place of a use of the copy */
    fence_compiler();
}

int mmf__validate(const unsigned char *base, uint64_t file_size, const struct mmf_header_copy *c) {
    const struct mmf_geom *g = &c->g;
    if (c->magic != MMF_MAGIC) return MMF_ECORRUPT;
    if (c->layout_version != MMF_LAYOUT_VERSION || c->fingerprint != MMF_LAYOUT_FINGERPRINT)
        return MMF_EVERSION;
    if (c->header_size != MMF_HEADER_SIZE || g->size != file_size) return MMF_ECORRUPT;
    if (c->ready != 1 || (c->flags & ~MMF_FLAG_TRANSIENT)) return MMF_ECORRUPT;
    if (memchr(c->name, '\0', sizeof c->name) == NULL) return MMF_ECORRUPT;
    uint64_t cap = g->index_cap_max, slots = g->slots_max;
    if (cap < (1u << MIN_LOG2CAP_MAX) || (cap & (cap - 1)) || slots == 0 || slots > MMF_MAX_VARS ||
        slots > cap / 2)
        return MMF_ECORRUPT;
    /* the regions in their order, each inside the file: no overflow, since
       every term is below 2^47 */
    if (g->index_off[0] != MMF_INDEX_OFF || g->index_off[1] != g->index_off[0] + cap * 8 ||
        g->slots_off != g->index_off[1] + cap * 8 || g->slots_off > file_size ||
        slots > (file_size - g->slots_off) / MMF_SLOT_SIZE)
        return MMF_ECORRUPT;
    if (!mmfa_geometry_ok(&g->heap, file_size) ||
        g->heap.meta_off < g->slots_off + slots * MMF_SLOT_SIZE)
        return MMF_ECORRUPT;
    if (g->max_size < MMF_INDEX_OFF || g->max_size > MAX_SIZE) return MMF_ECORRUPT;
    return mmf__mutex_kind_ok(&((const struct mmf_header *)base)->mutex) ? MMF_OK : MMF_ECORRUPT;
}
