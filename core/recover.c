/*
 * Crash recovery, run with the namespace mutex held: after EOWNERDEAD, or when
 * a reader or claimer finds a slot claimed by a dead structural writer.
 *
 * What a kill -9 can leave, and how each is repaired:
 *  - a structural change whose intent record is READY: its blocks are
 *    written, so it is rolled forward (the slot image is applied again;
 *    applying is idempotent);
 *  - a structural change killed before READY: nothing visible changed; its
 *    fresh slot and blocks are referenced by no entry and the rebuilds free
 *    them;
 *  - a slot claimed by a dead writer (in place, or structural): its vstate is
 *    whole, so the odd gen is ended and the claim cleared;
 *  - allocator lists half split or half merged, a slot taken off the free
 *    chain: the index is the source of truth, the free lists and the chain
 *    are rebuilt from what live entries reference;
 *  - counters (vars, tombstones) off by one: recounted from the index;
 *  - growth cut short (grow.c): counts are published only once what they
 *    cover is committed, and a heap published before its new blocks were
 *    freed into the lists is taken in by the rebuild of the lists;
 *  - an index rebuild cut short: the buffer in use was never touched;
 *  - a dead holder of the explicit lock: its lock word is cleared (lock.c,
 *    which knows the holder died).
 * The routine is idempotent, so a recoverer that dies is recovered in turn.
 */
#include "internal.h"

__attribute__((cold)) int mmf__recover(mmf *ns) {
    struct mmf_header *h = ns->hdr;
    const struct mmfi_table *t = &ns->t;
    uint64_t me;
    if (mmf__me(ns, &me)) return MMF_EPERM;
    /* a grower that died published its counts after committing what they
       cover; a heap published but not yet freed into is rebuilt below */
    if (mmf__sync(ns)) return MMF_ECORRUPT;

    struct mmfi_view v;
    if (mmfi_view_checked(t, &v)) return MMF_ECORRUPT;
    uint64_t nslots = load_relaxed(&t->nslots); /* mutex held, synced */
    /* acquire: pairs with the dead writer's release of READY. The index was
       not rebuilt since: a rebuild starts a structural write, and the
       intent of the one before was NONE by then or recovered first. */
    if (load_acquire(&h->intent.state) == MMF_INTENT_READY) {
        uint64_t idx = h->intent.slot, pos = h->intent.entry_pos;
        if (idx < nslots) {
            struct mmf_slot *s = &t->slots[idx];
            mmfi_publish(s, &h->intent.img, h->intent.min_gen, &v, pos, h->intent.entry);
            store_release(&s->owner, 0);
            mmf__wake_slot(s);
            MMF_DEBUG(ns, "rolled forward an interrupted change of slot %llu",
                      (unsigned long long)idx);
        }
        store_release(&h->intent.state, MMF_INTENT_NONE);
    }

    uint64_t max_gen = 0;
    for (uint64_t i = 0; i < nslots; i++) {
        struct mmf_slot *s = &t->slots[i];
        uint64_t o = load_acquire(&s->owner);
        /* a structural claim is ours to clear: we hold the mutex its owner
           needed, so its owner is dead */
        if (o && ((o & MMF_OWNER_STRUCT) || !mmf__alive(ns, o)) && mmf__take_over(ns, s, o, me))
            mmfi_release(s);
        uint64_t g = load_relaxed(&s->gen);
        if (g > max_gen) max_gen = g;
    }
    uint64_t vars = 0, tombs = 0;
    for (uint64_t p = 0; p <= v.mask; p++)
        if (load_relaxed(&v.entries[p]) == MMF_ENTRY_TOMB) mmfi_trim_tombstones(&v, p);
    for (uint64_t p = 0; p <= v.mask; p++) {
        uint64_t e = load_relaxed(&v.entries[p]);
        vars += ENTRY_LIVE(e);
        tombs += e == MMF_ENTRY_TOMB;
    }
    store_relaxed(&h->vars, vars);
    store_relaxed(&h->tombstones, tombs);
    if (load_relaxed(&h->gen_floor) < max_gen) store_relaxed(&h->gen_floor, max_gen);

    int rc = mmf__slots_rebuild(ns);
    struct mmf_live_cursor c = {.t = t};
    if (!rc) rc = mmfa_rebuild(&ns->heap, mmf__live_blocks, &c) ? MMF_ECORRUPT : c.err;
    if (rc) {
        MMF_DEBUG(ns, "recovery: the index references slots or blocks that cannot be");
        return MMF_ECORRUPT;
    }
    fetch_add32_seq_cst(&h->struct_seq, 1);
    mmf__wake_struct(ns);
    return MMF_OK;
}
