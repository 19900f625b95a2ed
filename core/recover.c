/*
 * Crash recovery, run with the namespace mutex held: after EOWNERDEAD, or when
 * a reader or claimer finds a slot claimed by a dead structural writer.
 *
 * What a kill -9 can leave, and how each is repaired:
 *  - a structural change whose intent record is READY: its blocks are
 *    written, so it is rolled forward (the slot image is applied again;
 *    applying is idempotent);
 *  - a structural change killed before READY: nothing visible changed; its
 *    fresh blocks are referenced by no slot and the rebuild frees them;
 *  - a slot claimed by a dead writer (in place, or structural): its vstate is
 *    whole, so the odd gen is ended and the claim cleared;
 *  - allocator lists half split or half merged: the index is the source of
 *    truth, the free lists are rebuilt from the blocks live slots reference;
 *  - counters (vars, tombstones) off by one: recounted from the index;
 *  - a dead holder of the explicit lock: its lock word is cleared (lock.c,
 *    which knows the holder died).
 * The routine is idempotent, so a recoverer that dies is recovered in turn.
 */
#include "internal.h"

int mmf__live_blocks(void *vctx, uint64_t i, uint64_t *off, unsigned *order) {
    (void)i; /* the cursor is sequential */
    struct mmf_live_cursor *c = vctx;
    while (c->next >= c->n) {
        if (c->slot > c->t->mask) return 1;
        const struct mmf_slot *s = &c->t->slots[c->slot++];
        if (load_relaxed(&s->hash) <= MMF_HASH_TOMB) continue; /* mutex held */
        c->n = mmfi_slot_blocks(c->t, s, c->off, c->order);
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

__attribute__((cold)) int mmf__recover(mmf *ns) {
    struct mmf_header *h = ns->hdr;
    const struct mmfi_table *t = &ns->t;
    uint64_t me = mmf__token(ns);

    /* acquire: pairs with the dead writer's release of READY */
    if (load_acquire(&h->intent.state) == MMF_INTENT_READY) {
        uint64_t idx = h->intent.slot;
        if (idx <= t->mask) {
            struct mmf_slot *s = &t->slots[idx];
            mmfi_apply_image(s, &h->intent.img, h->intent.min_gen);
            store_release(&s->owner, 0);
            mmf__wake_slot(s);
            MMF_DEBUG(ns, "rolled forward an interrupted change of slot %llu",
                      (unsigned long long)idx);
        }
        store_release(&h->intent.state, MMF_INTENT_NONE);
    }

    uint64_t vars = 0, tombs = 0, max_gen = 0;
    for (uint64_t i = 0; i <= t->mask; i++) {
        struct mmf_slot *s = &t->slots[i];
        uint64_t o = load_acquire(&s->owner);
        /* a structural claim is ours to clear: we hold the mutex its owner
           needed, so its owner is dead */
        if (o && ((o & MMF_OWNER_STRUCT) || !mmf__token_alive(o)) &&
            cas_acquire(&s->owner, &o, me)) {
            mmf__finish_dead_write(s);
            mmf__release(s);
            MMF_DEBUG(ns, "cleared slot %llu claimed by dead process %d", (unsigned long long)i,
                      OWNER_PID(o));
        }
        uint64_t hs = load_relaxed(&s->hash);
        if (hs == MMF_HASH_TOMB) mmfi_trim_tombstones(t, i);
        uint64_t g = load_relaxed(&s->gen);
        if (g > max_gen) max_gen = g;
    }
    for (uint64_t i = 0; i <= t->mask; i++) {
        uint64_t hs = load_relaxed(&t->slots[i].hash);
        vars += hs > MMF_HASH_TOMB;
        tombs += hs == MMF_HASH_TOMB;
    }
    store_relaxed(&h->vars, vars);
    store_relaxed(&h->tombstones, tombs);
    if (load_relaxed(&h->gen_floor) < max_gen) store_relaxed(&h->gen_floor, max_gen);

    struct mmf_live_cursor c = {.t = t};
    int rc = mmfa_rebuild(ns->base, ns->heap, mmf__live_blocks, &c);
    if (rc || c.err) {
        MMF_DEBUG(ns, "recovery: the index references blocks that cannot be");
        return MMF_ECORRUPT;
    }
    store32_relaxed(&h->struct_seq, load32_relaxed(&h->struct_seq) + 1);
    mmf__wake_struct(ns);
    return MMF_OK;
}
