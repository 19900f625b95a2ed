/*
 * Growth, under the namespace mutex: more slots, more heap, a larger or a
 * compacted index, up to max_size bytes committed.
 *
 * Each step allocates the file range first (posix_fallocate: a full
 * filesystem is MMF_ENOSPC here, never a SIGBUS later) and only then
 * publishes the new count with a release store; readers of any process
 * follow offsets only below the counts they loaded (acquire). The counts
 * only rise. A kill -9 between the two leaves allocated pages that the
 * next growth commits again (a no-op); one after the publication leaves
 * memory that recovery takes in (a heap published but not yet freed into
 * is rebuilt from the live blocks; slots past slots_used are free anyway).
 */

#include "internal.h"
#include "../common/crash.h"

#define FIXED_BYTES ((uint64_t)MMF_INDEX_OFF)

static uint64_t heap_units(mmf *ns) {
    return (load_relaxed(&ns->t.heap_hi) - ns->t.heap_lo) >> MMFA_UNIT_SHIFT; /* a cache */
}

uint64_t mmf__committed(mmf *ns) {
    struct mmf_header *h = ns->hdr;
    mmfi_refresh(&ns->t);
    /* relaxed: a snapshot; under the mutex, exact */
    return FIXED_BYTES + load_relaxed(&h->index_committed[0]) +
           load_relaxed(&h->index_committed[1]) + load_relaxed(&ns->t.nslots) * MMF_SLOT_SIZE +
           mmf__heap_pages(&ns->geo.heap, heap_units(ns));
}

/* Bytes that may still be committed. */
static uint64_t room(mmf *ns) {
    uint64_t used = mmf__committed(ns);
    return used < ns->geo.max_size ? ns->geo.max_size - used : 0;
}

static void record(mmf *ns, uint32_t kind, uint64_t from, uint64_t to) {
    struct mmf_header *h = ns->hdr;
    uint64_t now = mmf__wall_ns();
    uint64_t n = load_relaxed(&h->history_count); /* mutex held: relaxed throughout */
    struct mmf_geo_event *e = &h->history[n % MMF_HISTORY];
    e->time_ns = now;
    e->kind = kind;
    e->from = from;
    e->to = to;
    store_relaxed(&h->history_count, n + 1);
    if (kind != MMF_COMPACT_INDEX) store_relaxed(&h->grows, load_relaxed(&h->grows) + 1);
    MMF_DEBUG(ns, "%s %llu -> %llu",
              kind == MMF_GROW_SLOTS   ? "grew: slots"
              : kind == MMF_GROW_HEAP  ? "grew: heap units"
              : kind == MMF_GROW_INDEX ? "grew: index entries"
                                       : "compacted: index entries",
              (unsigned long long)from, (unsigned long long)to);
}

int mmf__sync(mmf *ns) {
    uint64_t seen = load_relaxed(&ns->t.nslots);
    uint64_t n = load_relaxed(&ns->hdr->slots_committed); /* mutex held */
    if (n < seen || n > ns->geo.slots_max || mmfa_sync(&ns->heap)) return MMF_ECORRUPT;
    mmfi_refresh(&ns->t);
    return MMF_OK;
}

int mmf__grow_slots(mmf *ns) {
    struct mmf_header *h = ns->hdr;
    uint64_t have = load_relaxed(&ns->t.nslots), max = ns->geo.slots_max;
    uint64_t want = have * 2 < have + MMF_SLOT_GRAIN ? have + MMF_SLOT_GRAIN : have * 2;
    uint64_t afford = have + room(ns) / MMF_SLOT_SIZE / MMF_SLOT_GRAIN * MMF_SLOT_GRAIN;
    if (want > max) want = max;
    if (want > afford) want = afford;
    if (want <= have) return MMF_ENOSPC;
    int rc = mmf__commit(ns->fd, ns->geo.slots_off + have * MMF_SLOT_SIZE,
                         (want - have) * MMF_SLOT_SIZE);
    if (rc == MMF_ENOSPC && want > have + MMF_SLOT_GRAIN) { /* a full filesystem: the least */
        want = have + MMF_SLOT_GRAIN;
        rc = mmf__commit(ns->fd, ns->geo.slots_off + have * MMF_SLOT_SIZE,
                         MMF_SLOT_GRAIN * MMF_SLOT_SIZE);
    }
    if (rc) return rc;
    MMF_CRASH_POINT("grow.slots.committed");
    store_release(&h->slots_committed, want); /* pairs with mmfi_refresh's acquire */
    mmfi_refresh(&ns->t);
    record(ns, MMF_GROW_SLOTS, have, want);
    return MMF_OK;
}

static int commit_heap(mmf *ns, uint64_t have, uint64_t want) {
    uint64_t off[2], len[2];
    mmfa_commit_ranges(&ns->geo.heap, have, want, off, len);
    int rc = MMF_OK;
    for (int i = 0; i < 2 && !rc; i++)
        rc = mmf__commit(ns->fd, off[i], len[i]);
    return rc;
}

int mmf__grow_heap(mmf *ns, unsigned order) {
    uint64_t have = heap_units(ns), least;
    if (mmfa_grow_target(&ns->heap, order, &least)) return MMF_ENOSPC;
    uint64_t afford = room(ns), base = mmf__heap_pages(&ns->geo.heap, have);
    uint64_t want = 2 * have > least ? 2 * have : least;
    if (want > ns->geo.heap.units) want = ns->geo.heap.units;
    /* doubling is the aim; what max_size leaves is the limit */
    while (want > least && mmf__heap_pages(&ns->geo.heap, want) - base > afford)
        want = want - (want - least + 1) / 2;
    if (mmf__heap_pages(&ns->geo.heap, want) - base > afford) return MMF_ENOSPC;
    int rc = commit_heap(ns, have, want);
    if (rc == MMF_ENOSPC && want > least) { /* a full filesystem: the least that serves */
        want = least;
        rc = commit_heap(ns, have, want);
    }
    if (rc) return rc;
    MMF_CRASH_POINT("grow.heap.committed");
    if (mmfa_grow(&ns->heap, want)) return MMF_ECORRUPT;
    mmfi_refresh(&ns->t);
    record(ns, MMF_GROW_HEAP, have, want);
    return MMF_OK;
}

/* Rebuilds the index into the other buffer at capacity 2^lg. */
static int rebuild(mmf *ns, const struct mmfi_view *cur, unsigned lg) {
    struct mmf_header *h = ns->hdr;
    unsigned other = !MMF_DESC_BUF(cur->desc);
    uint64_t need = mmf__page_up((uint64_t)8 << lg),
             have = load_relaxed(&h->index_committed[other]);
    if (need > have) {
        if (need - have > room(ns)) return MMF_ENOSPC;
        int rc = mmf__commit(ns->fd, ns->geo.index_off[other] + have, need - have);
        if (rc) return rc;
        MMF_CRASH_POINT("grow.index.committed");
        store_relaxed(&h->index_committed[other], need);
    }
    uint64_t live;
    if (mmfi_rebuild(&ns->t, lg, &live)) return MMF_ECORRUPT;
    store_relaxed(&h->tombstones, 0); /* counters: under the mutex */
    store_relaxed(&h->vars, live);
    store_relaxed(&h->index_rebuilds, load_relaxed(&h->index_rebuilds) + 1);
    uint64_t from = cur->mask + 1, to = 1ull << lg;
    record(ns, to > from ? MMF_GROW_INDEX : MMF_COMPACT_INDEX, from, to);
    return MMF_OK;
}

int mmf__index_room(mmf *ns, bool inserting) {
    struct mmf_header *h = ns->hdr;
    struct mmfi_view v;
    if (mmfi_view_checked(&ns->t, &v)) return MMF_ECORRUPT;
    uint64_t cap = v.mask + 1, vars = load_relaxed(&h->vars), tombs = load_relaxed(&h->tombstones);
    unsigned lg = MMF_DESC_LOG2CAP(v.desc);
    int rc = MMF_OK;
    if (load_relaxed(&h->intent.state) != MMF_INTENT_NONE)
        return MMF_ECORRUPT; /* a change recovery could not finish: its entry is in this index */
    if (inserting && (vars + 1) * 2 > cap && cap * 2 <= ns->t.mask_max + 1)
        rc = rebuild(ns, &v, lg + 1);
    else if (tombs * 8 > cap)
        rc = rebuild(ns, &v, lg);
    /* an index that could not grow still serves while it has room: the
       insert finds a free entry or answers MMF_ENOSPC itself */
    return rc == MMF_ENOSPC ? MMF_OK : rc;
}
