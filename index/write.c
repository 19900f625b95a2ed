/*
 * The write side of the slot protocol.
 *
 * In place (claim held, no mutex):
 *   1. seq_write_begin: gen odd, release fence
 *   2. the new value into the spare buffer, inline or block (relaxed words)
 *   3. one release store of vstate: length and current block flip together
 *   4. seq_write_end: gen even
 * A writer killed before 3 leaves the old value whole; after 3, the new one.
 * Either way vstate is whole; recovery (or a claimer) only ends the odd gen.
 *
 * Structural (claim and namespace mutex held): the slot image, recorded in
 * the header's intent record beforehand, is copied into the slot between
 * seq_write_begin and seq_write_end. A writer killed in between leaves a
 * slot that recovery completes from the intent record.
 */
#include "index.h"
#include "inplace.h"
#include "seq.h"
#include "../common/crash.h"
#include "../common/words.h"

unsigned mmfi_key_order(size_t klen) {
    unsigned k = 0;
    while (((uint64_t)MMFA_UNIT << k) < klen)
        k++;
    return k;
}

int mmfi_find_for_write(const struct mmfi_table *t, const struct mmfi_view *v,
                        const struct mmfi_key *k, uint64_t *pos, uint64_t *slot, int *present) {
    uint64_t h = k->hash, free_at = UINT64_MAX, tag = ENTRY_TAG(h);
    for (uint64_t i = 0; i <= v->mask; i++) {
        uint64_t p = (h + i) & v->mask;
        uint64_t e = load_relaxed(&v->entries[p]); /* stable under the mutex */
        if (e == MMF_ENTRY_EMPTY) {
            if (free_at == UINT64_MAX) free_at = p;
            break;
        }
        if (e == MMF_ENTRY_TOMB) {
            if (free_at == UINT64_MAX) free_at = p;
            continue;
        }
        if (ENTRY_TAG(e) != tag) continue;
        const struct mmf_slot *s = mmfi_entry_slot(t, e);
        if (!s) return MMFI_ECORRUPT;
        int eq = mmfi_holds_key(t, s, k);
        if (eq < 0) return eq;
        if (eq) {
            *pos = p;
            *slot = ENTRY_SLOT(e);
            *present = 1;
            return MMFI_FOUND;
        }
    }
    if (free_at == UINT64_MAX) return MMFI_ENOSPC;
    *pos = free_at;
    *present = 0;
    return MMFI_MISSING;
}

int mmfi_end_dead_write(struct mmf_slot *s) {
    /* acquire: pairs with the dead writer's release store of vstate, so the
       value it names is whole before anyone uses it */
    (void)load_acquire(&s->vstate);
    uint64_t g = load_relaxed(&s->gen); /* claim held */
    if (!(g & 1)) return 0;
    seq_write_end(&s->gen, g);
    return 1;
}

uint64_t mmfi_apply_image(struct mmf_slot *s, const struct mmf_slot_image *img, uint64_t min_gen) {
    uint64_t odd = seq_write_begin(&s->gen, min_gen);
    /* relaxed: all ordered by seq_write_begin's fence and seq_write_end */
    for (unsigned i = 0; i < MMF_KEY_INLINE / 8; i++)
        store_relaxed(&s->key[i], img->key[i]);
    store_relaxed(&s->incarnation, img->incarnation); /* validated by gen, as the key */
    store_relaxed(&s->key_off, img->key_off);
    store_relaxed(&s->blk[0], img->blk[0]);
    store_relaxed(&s->blk[1], img->blk[1]);
    MMF_CRASH_POINT("publish.half");
    if (VS_ORDER(img->vstate) == MMF_ORDER_INLINE)
        for (unsigned i = 0; i < MMF_VALUE_INLINE / 8; i++)
            store_relaxed(&s->ival[0][i], img->ival[i]);
    store_relaxed(&s->vstate, img->vstate);
    store_relaxed(&s->hash, img->hash);
    seq_write_end(&s->gen, odd);
    return odd + 1;
}

uint64_t mmfi_publish(struct mmf_slot *s, const struct mmf_slot_image *img, uint64_t min_gen,
                      const struct mmfi_view *v, uint64_t pos, uint64_t entry) {
    uint64_t g = mmfi_apply_image(s, img, min_gen);
    MMF_CRASH_POINT("publish.before_entry");
    if (pos != UINT64_MAX) mmfi_set_entry(v, pos, entry);
    return g;
}

void mmfi_make_image(struct mmf_slot_image *img, const struct mmfi_key *k, uint64_t incarnation,
                     uint64_t key_off, uint64_t blk0, uint64_t blk1, unsigned order,
                     const void *val, size_t len) {
    memset(img, 0, sizeof *img);
    img->incarnation = incarnation;
    if (order == MMF_ORDER_INLINE) memcpy(img->ival, val, len);
    img->hash = k->hash;
    img->vstate = VS_MAKE(len, 0, k->len, order);
    img->blk[0] = blk0;
    img->blk[1] = blk1;
    img->key_off = key_off;
    if (k->len <= MMF_KEY_INLINE)
        for (size_t i = 0; i < words_for(k->len); i++)
            img->key[i] = k->words[i];
}

uint64_t mmfi_trim_tombstones(const struct mmfi_view *v, uint64_t pos) {
    uint64_t n = 0;
    pos &= v->mask;
    while (n <= v->mask && load_relaxed(&v->entries[pos]) == MMF_ENTRY_TOMB &&
           load_relaxed(&v->entries[(pos + 1) & v->mask]) == MMF_ENTRY_EMPTY) {
        /* relaxed: readers treat TOMB and EMPTY alike for every key that
           could reach this entry, since the entry after it is EMPTY */
        store_relaxed(&v->entries[pos], MMF_ENTRY_EMPTY);
        n++;
        pos = (pos - 1) & v->mask;
    }
    return n;
}

int mmfi_slot_blocks(const struct mmfi_table *t, const struct mmf_slot *s, uint64_t vs,
                     uint64_t off[3], unsigned order[3]) {
    int n = 0;
    unsigned vo = VS_ORDER(vs), klen = VS_KLEN(vs);
    if (klen == 0) return MMFI_ECORRUPT;
    if (vo == MMF_ORDER_INLINE) {
        if (VS_LEN(vs) > MMF_VALUE_INLINE) return MMFI_ECORRUPT;
    } else if (vo != MMF_ORDER_NONE) {
        if (vo >= MMFA_ORDERS || VS_LEN(vs) > ((uint64_t)MMFA_UNIT << vo)) return MMFI_ECORRUPT;
        for (unsigned i = 0; i < 2; i++) {
            off[n] = load_relaxed(&s->blk[i]);
            order[n] = vo;
            if (!mmfi_block_ok(t, off[n], (uint64_t)MMFA_UNIT << vo)) return MMFI_ECORRUPT;
            n++;
        }
    } else if (VS_LEN(vs) != 0) {
        return MMFI_ECORRUPT;
    }
    if (klen > MMF_KEY_INLINE) {
        off[n] = load_relaxed(&s->key_off);
        order[n] = mmfi_key_order(klen);
        if (!mmfi_block_ok(t, off[n], (uint64_t)MMFA_UNIT << order[n])) return MMFI_ECORRUPT;
        n++;
    }
    return n;
}
