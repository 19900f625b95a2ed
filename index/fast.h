/*
 * The common case of a lock-free read, inlined into its callers: a stable
 * slot (even gen), a key of up to 16 bytes, an inline value that fits the
 * caller's buffer. Straight through, with no stall function and no retry
 * loop: anything else (an odd gen, a torn read, a long key, a block value,
 * a small buffer) answers MMFI_SLOW, and the caller runs the whole protocol
 * (mmfi_get, mmfi_get_at in read.c) from the start, which is always right.
 *
 * The loads, checks and memory orders are those of read.c's read_slot for
 * the same case: gen (acquire, pairs with seq_write_end), then relaxed
 * loads of the fields and the value, then seq_read_retry (acquire fence,
 * gen again). Everything a decision is taken on is validated by that
 * re-check before the result is returned.
 */
#ifndef MMF_INDEX_FAST_H
#define MMF_INDEX_FAST_H

#include "index.h"
#include "seq.h"
#include "../common/words.h"

enum { MMFI_SLOW = 4 };

/* vstate's bits 40..55 (key length, order), in place, that the fast path
   wants for a key of klen bytes with an inline value; MMFI_FAST_VSK_MASK
   selects them */
#define MMFI_FAST_VSK(klen) (((uint64_t)(klen) | (uint64_t)MMF_ORDER_INLINE << 8) << 40)
#define MMFI_FAST_VSK_MASK (0xffffull << 40)
_Static_assert(VS_KLEN(MMFI_FAST_VSK(16)) == 16 &&
                   VS_ORDER(MMFI_FAST_VSK(16)) == MMF_ORDER_INLINE &&
                   VS_KLEN(MMFI_FAST_VSK_MASK) == 0xff && VS_ORDER(MMFI_FAST_VSK_MASK) == 0xff,
               "MMFI_FAST_VSK: vstate's key length and order fields");

/* The copy and the answer, for a slot whose identity the caller checked
   and whose value is inline: it fits cap (and the 64-byte buffer). */
MMF_INLINE int mmfi_copy_fast(struct mmf_slot *s, uint64_t g, uint64_t vs, uint64_t sinc, void *buf,
                              size_t cap, mmfi_hit *hit) {
    size_t len = VS_LEN(vs);
    /* (vs >> 26) & 64 is VS_CUR(vs) * 64: the current inline buffer */
    const mmf_a64 *src = (const mmf_a64 *)((char *)s->ival + ((vs >> 26) & 64));
    /* len > 64: only in a damaged or torn slot. g is the gen loaded first
       with its low bit cleared (mmfi_read_fast): the re-check below fails
       for an odd gen (a write under way) and the copy is thrown away, as
       for any torn read. */
    if (len == MMF_VALUE_INLINE) {
        if (__builtin_expect(cap < MMF_VALUE_INLINE, 0)) return MMFI_SLOW;
        words_load_64(buf, src); /* a full buffer: straight, no jump */
    } else {
        if (__builtin_expect(len > cap || len > MMF_VALUE_INLINE, 0)) return MMFI_SLOW;
        words_load_small(buf, src, len);
    }
    if (__builtin_expect(seq_read_retry(&s->gen, g), 0)) return MMFI_SLOW;
    hit->version = g;
    hit->vstate = vs;
    hit->incarnation = sinc;
    hit->len = len;
    return MMFI_FOUND;
}

/* A key of up to 16 bytes, as the fast path takes it: in registers. */
struct mmfi_key16 {
    uint64_t hash;
    uint64_t vsk;    /* MMFI_FAST_VSK(klen): vstate's bits for the key, as a slot holds them */
    uint64_t w0, w1; /* w1 is 0 for keys up to 8 bytes */
};

MMF_INLINE struct mmfi_key16 mmfi_key16_of(const char *key, size_t klen) {
    struct mmfi_key16 k = {mmfi_hash(key, klen), MMFI_FAST_VSK(klen), 0, 0};
    if (klen >= 8) {
        k.w0 = key_load8(key);
        /* bytes 8..klen-1: the 8 ending at the key's end, shifted down */
        k.w1 = klen > 8 ? key_load8(key + klen - 8) >> (8 * (16 - klen)) : 0;
    } else {
        struct mmfi_key full;
        /* the short cases, in one place; the hash it computes again is the
           same inline computation on the same bytes, which gcc merges with
           the one above (mmf_get holds one XXH3: checked in its code) */
        mmfi_key_init(&full, key, klen);
        k.w0 = full.words[0];
    }
    return k;
}

/* A NUL-terminated key as the fast path takes it: its length if it is
   0..16, with its words and hash in *k (for 1..16), or 17 for a longer key
   (which the caller measures again). */
MMF_INLINE size_t mmfi_key16_scan(const char *key, struct mmfi_key16 *k) {
    size_t n = mmfi_key_len17(key);
    if (n - 1 < 16) *k = mmfi_key16_of(key, n);
    return n;
}

/* The gen a fast read starts from: as loaded (acquire), its low bit
   cleared. The re-check (seq_read_retry: gen == g) then also rejects a
   read that began while a write was under way: gen was odd, so it is now
   that odd value or above it, never the even value below. One test for
   both, where "odd?" and "moved?" were two. */
MMF_INLINE uint64_t mmfi_fast_begin(const mmf_a64 *gen) {
    return seq_read_begin(gen) & ~1ull;
}

/* Slot s holds key k and its inline value fits cap: the copy in buf and
   MMFI_FOUND (hit->slot is left to the caller); MMFI_OTHER if it holds
   another key; MMFI_SLOW for anything else. The key compares both words: a
   slot keeps the words past its key zero, as k does, so a mismatch there
   is damage or a torn read, and MMFI_SLOW sorts it out. */
MMF_INLINE int mmfi_read_fast(struct mmf_slot *s, struct mmfi_key16 k, void *buf, size_t cap,
                              mmfi_hit *hit) {
    uint64_t g = mmfi_fast_begin(&s->gen);
    /* relaxed: every field below is re-validated by the gen re-check */
    if (load_relaxed(&s->hash) != k.hash) return MMFI_OTHER;
    uint64_t vs = load_relaxed(&s->vstate);
    uint64_t diff = ((vs & MMFI_FAST_VSK_MASK) ^ k.vsk) | (load_relaxed(&s->key[0]) ^ k.w0) |
                    (load_relaxed(&s->key[1]) ^ k.w1);
    /* another key length, a value in blocks, a hash collision or a torn
       read: rare, and the slow path sorts each out */
    if (__builtin_expect(diff != 0, 0)) return MMFI_SLOW;
    return mmfi_copy_fast(s, g, vs, 0, buf, cap, hit); /* by key: no incarnation needed */
}

/* The same through a handle: slot s if its incarnation is still inc. */
MMF_INLINE int mmfi_read_fast_at(struct mmf_slot *s, uint64_t inc, void *buf, size_t cap,
                                 mmfi_hit *hit) {
    uint64_t g = mmfi_fast_begin(&s->gen);
    /* relaxed: every field below is re-validated by the gen re-check */
    if (__builtin_expect(load_relaxed(&s->incarnation) != inc, 0))
        return MMFI_SLOW; /* another incarnation: re-resolve */
    uint64_t vs = load_relaxed(&s->vstate);
    if (__builtin_expect(VS_ORDER(vs) != MMF_ORDER_INLINE, 0)) return MMFI_SLOW;
    return mmfi_copy_fast(s, g, vs, inc, buf, cap, hit);
}

/* mmfi_get's common case, for a key of up to 16 bytes: MMFI_FOUND,
   MMFI_MISSING (an EMPTY entry ends the probe, in an index still in use: no
   stall function is needed to say so), or MMFI_SLOW. */
MMF_INLINE int mmfi_get_fast(const struct mmfi_table *t, struct mmfi_key16 k, void *buf, size_t cap,
                             mmfi_hit *hit) {
    struct mmfi_view v;
    mmfi_view_load(t, &v);
    /* the view's fields in registers; the slots' base and count are loaded
       where an entry matches (in the common case once, and the loop keeps
       two registers fewer) */
    const mmf_a64 *entries = v.entries;
    uint64_t mask = v.mask, tag = ENTRY_TAG(k.hash);
    for (uint64_t i = 0; i <= mask; i++) {
        /* acquire: pairs with mmfi_set_entry, so the slot is seen whole */
        uint64_t e = load_acquire(&entries[(k.hash + i) & mask]);
        /* below 2^24 exactly when e is a live entry with k's tag, and then
           it is the slot: the tag's low 24 bits are zero, and its bit 24,
           set in every live entry (ENTRY_MAKE), is clear in EMPTY and
           TOMBSTONE, which therefore never match */
        uint64_t slot = e ^ tag;
        if (slot < 1ull << MMF_SLOT_BITS) {
            /* relaxed: a cache of a count that only rises */
            if (__builtin_expect(slot >= load_relaxed(&t->nslots), 0))
                return MMFI_SLOW; /* ECORRUPT there */
            int rc = mmfi_read_fast(&t->slots[slot], k, buf, cap, hit);
            if (__builtin_expect(rc == MMFI_FOUND, 1)) {
                hit->slot = slot;
                return rc;
            }
            if (rc == MMFI_SLOW) return rc;
        } else if (e == MMF_ENTRY_EMPTY) {
            return mmfi_view_current(t, &v) ? MMFI_MISSING : MMFI_SLOW;
        }
    }
    return MMFI_SLOW;
}

/* Where key k (any length) seems to be, for a writer: the slot of the first
   live entry with its tag whose slot has its hash, loaded relaxed and
   unvalidated. Only a hint: the writer claims the slot and then checks that
   it holds the key (mmfi_holds_key), and anything else goes the structural
   way. The slot's index, or -1: the probe met EMPTY (or went the whole
   table round, or an entry out of range). */
MMF_INLINE int64_t mmfi_find_hint(const struct mmfi_table *t, const struct mmfi_key *k) {
    struct mmfi_view v;
    mmfi_view_load(t, &v);
    const mmf_a64 *entries = v.entries;
    uint64_t mask = v.mask, h = k->hash, tag = ENTRY_TAG(h);
    const uint64_t tag_bits = ~((1ull << MMF_SLOT_BITS) - 1u);
    for (uint64_t i = 0; i <= mask; i++) {
        /* acquire: pairs with mmfi_set_entry, as for a reader */
        uint64_t e = load_acquire(&entries[(h + i) & mask]);
        if ((e & tag_bits) == tag) {
            uint64_t slot = ENTRY_SLOT(e);
            if (slot >= load_relaxed(&t->nslots)) return -1; /* relaxed: a cache */
            /* relaxed: a hint, checked under the claim */
            if (load_relaxed(&t->slots[slot].hash) == h) return (int64_t)slot;
        } else if (e == MMF_ENTRY_EMPTY) {
            return -1;
        }
    }
    return -1;
}

#endif
