/*
 * Slot allocation, under the namespace mutex. Slots [0, slots_used) have been
 * handed out; freed ones are chained through next_free from slot_free; past
 * the committed slots, more are committed (grow.c). Like
 * the heap's free lists, the chain is a cache: recovery rebuilds it from the
 * index (a slot is live iff a live entry names it), so a process killed
 * between taking a slot and publishing its entry leaks nothing for long.
 */
#include <stdlib.h>

#include "internal.h"

int mmf__slot_alloc(mmf *ns, uint64_t *slot) {
    struct mmf_header *h = ns->hdr;
    uint64_t nslots = load_relaxed(&ns->t.nslots); /* mutex held: relaxed throughout */
    uint64_t f = load_relaxed(&h->slot_free);
    if (f) {
        if (f > nslots) return MMF_ECORRUPT;
        const struct mmf_slot *s = &ns->t.slots[f - 1];
        uint32_t next = s->next_free;
        /* a damaged chain must not hand out a live slot */
        if (next > nslots || load_relaxed(&s->hash) != MMF_HASH_EMPTY) return MMF_ECORRUPT;
        store_relaxed(&h->slot_free, next);
        *slot = f - 1;
        return MMF_OK;
    }
    uint64_t used = load_relaxed(&h->slots_used);
    if (used > nslots) return MMF_ECORRUPT;
    if (used == nslots) {
        int rc = mmf__grow_slots(ns);
        if (rc) return rc;
    }
    if (load_relaxed(&ns->t.slots[used].hash) != MMF_HASH_EMPTY) return MMF_ECORRUPT;
    store_relaxed(&h->slots_used, used + 1);
    *slot = used;
    return MMF_OK;
}

void mmf__slot_free(mmf *ns, uint64_t slot) {
    struct mmf_header *h = ns->hdr;
    ns->t.slots[slot].next_free = (uint32_t)load_relaxed(&h->slot_free);
    store_relaxed(&h->slot_free, slot + 1);
}

int mmf__slots_rebuild(mmf *ns) {
    const struct mmfi_table *t = &ns->t;
    struct mmf_header *h = ns->hdr;
    struct mmfi_view v;
    if (mmfi_view_checked(t, &v)) return MMF_ECORRUPT;
    uint64_t nslots = load_relaxed(&t->nslots); /* mutex held */
    uint8_t *live = calloc(nslots / 8 + 1, 1);
    if (!live) return MMF_ENOMEM;
    uint64_t used = load_relaxed(&h->slots_used);
    if (used > nslots) used = nslots;
    int rc = MMF_OK;
    for (uint64_t p = 0; p <= v.mask; p++) {
        uint64_t e = load_relaxed(&v.entries[p]);
        if (!ENTRY_LIVE(e)) continue;
        uint64_t i = ENTRY_SLOT(e);
        if (i >= nslots || (live[i / 8] & (1u << (i % 8)))) {
            rc = MMF_ECORRUPT; /* out of range, or named twice */
            break;
        }
        live[i / 8] |= (uint8_t)(1u << (i % 8));
        if (i >= used) used = i + 1;
    }
    if (!rc) {
        store_relaxed(&h->slots_used, used);
        store_relaxed(&h->slot_free, 0);
        for (uint64_t i = used; i-- > 0;)
            if (!(live[i / 8] & (1u << (i % 8)))) mmf__slot_free(ns, i);
    }
    free(live);
    return rc;
}

int mmf__live_blocks(void *vctx, uint64_t *off, unsigned *order) {
    struct mmf_live_cursor *c = vctx;
    while (c->next >= c->n) {
        if (!c->v.entries && mmfi_view_checked(c->t, &c->v)) {
            c->err = MMF_ECORRUPT;
            return 1;
        }
        if (c->pos > c->v.mask) return 1;
        uint64_t e = load_relaxed(&c->v.entries[c->pos++]); /* mutex held */
        if (!ENTRY_LIVE(e)) continue;
        const struct mmf_slot *s = mmfi_entry_slot(c->t, e);
        /* vstate: mutex held, used only here */
        c->n = s ? mmfi_slot_blocks(c->t, s, load_relaxed(&s->vstate), c->off, c->order)
                 : MMFI_ECORRUPT;
        c->next = 0;
        if (c->n < 0) {
            c->err = MMF_ECORRUPT;
            c->n = 0;
            return 1;
        }
    }
    *off = c->off[c->next];
    *order = c->order[c->next];
    c->next++;
    return 0;
}
