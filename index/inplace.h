/*
 * The in-place write of the slot protocol (write.c's file comment has the
 * steps): the key check, the spare buffer and the publication, inline, so
 * that a set through a cached slot is one function with its claim and its
 * wake-up, not five calls.
 */
#ifndef MMF_INDEX_INPLACE_H
#define MMF_INDEX_INPLACE_H

#include "index.h"
#include "seq.h"
#include "../common/crash.h"
#include "../common/words.h"

/* Whether slot s holds key (caller holds the claim or the mutex); <0 if its
   key block is out of bounds. */
MMF_INLINE int mmfi_holds_key(const struct mmfi_table *t, const struct mmf_slot *s,
                              const struct mmfi_key *k) {
    /* relaxed: hash and key change only under the mutex / claim we hold */
    if (load_relaxed(&s->hash) != k->hash) return 0;
    return mmfi_key_matches(t, s, load_relaxed(&s->vstate), k);
}

/* Where an in-place write goes, as mmfi_fits found it: the slot's vstate and
   the spare buffer it names, each loaded from the slot once and checked. */
struct mmfi_place {
    uint64_t vs;
    mmf_a64 *spare; /* the spare inline buffer or block; NULL for no value */
};

/* Whether a value of len bytes can be written in place: into the spare
   inline buffer or spare block, or len 0 into a slot without either. If
   so, fills *p for mmfi_write_inplace. */
MMF_INLINE int mmfi_fits(const struct mmfi_table *t, struct mmf_slot *s, size_t len,
                         struct mmfi_place *p) {
    uint64_t vs = load_relaxed(&s->vstate); /* claim held: only we change it */
    unsigned order = VS_ORDER(vs), spare = !VS_CUR(vs);
    p->vs = vs;
    p->spare = NULL;
    if (order == MMF_ORDER_NONE) return len == 0;
    if (order == MMF_ORDER_INLINE) {
        p->spare = s->ival[spare];
        return len <= MMF_VALUE_INLINE;
    }
    if (len == 0 || order >= MMFA_ORDERS) return 0;
    uint64_t bsize = (uint64_t)MMFA_UNIT << order;
    /* a value that shrank to a quarter of a large block gives it back */
    if (len > bsize || (order >= 4 && len <= bsize / 4)) return 0;
    uint64_t b = load_relaxed(&s->blk[spare]); /* loaded once, checked, used */
    if (!mmfi_block_ok(t, b, bsize)) return 0;
    p->spare = (mmf_a64 *)(t->base + b);
    return 1;
}

/* In-place publication by the claim holder: value into the spare buffer,
   then one store of vstate flips spare and current. Returns the new version.
   p is what mmfi_fits said for this len; the slot is not read again, so a
   change made behind the claim's back cannot redirect the write. */
MMF_INLINE uint64_t mmfi_write_inplace(struct mmf_slot *s, const struct mmfi_place *p,
                                       const void *val, size_t len, unsigned tag) {
    uint64_t vs = p->vs;
    unsigned spare = !VS_CUR(vs);
    uint64_t odd = seq_write_begin(&s->gen, 0);
    if (VS_ORDER(vs) == MMF_ORDER_INLINE && len <= MMF_VALUE_INLINE)
        words_store_small(p->spare, val, len);
    else if (len)
        words_store(p->spare, val, len);
    MMF_CRASH_POINT("inplace.written");
    /* release: recovery reading vstate (acquire) sees the value it names */
    store_release(&s->vstate, VS_WITH_TAG(VS_MAKE(len, spare, VS_KLEN(vs), VS_ORDER(vs)), tag));
    MMF_CRASH_POINT("inplace.flipped");
    seq_write_end(&s->gen, odd);
    return odd + 1;
}

#endif
