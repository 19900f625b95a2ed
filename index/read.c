/*
 * The read path: probe the entries, read the matching slot under its
 * generation, copy, validate. No lock, no system call, no allocation, no
 * store to shared memory.
 *
 * Every field is loaded once into a local, checked, then used: slot indices
 * against the slot count, block offsets against [heap_lo, heap_hi), lengths
 * against the block. A check that fails while gen moved is a torn read and
 * is retried; one that fails on a stable slot is looked at again once the
 * counts are re-read (the namespace may have grown), and is MMFI_ECORRUPT
 * if they did not rise. Probes stop after capacity entries, and a "not
 * found" stands only if the index in use did not change under the probe.
 */
#include "index.h"
#include "seq.h"
#include "../common/words.h"

#define SPINS_BEFORE_STALL 1024u

/* Waits out an odd gen on a slot that holds (or is becoming) our key.
   Returns 1 to read through, 0 to look again, <0 to give up. */
static int stalled(const mmfi_stall *st, struct mmf_slot *s, uint64_t *spins) {
    if (*spins < SPINS_BEFORE_STALL || !st) {
        ++*spins;
        cpu_relax();
        return 0;
    }
    return st->fn(st->ctx, s, (*spins)++ - SPINS_BEFORE_STALL);
}

/* Copies the value vs names into buf (len <= cap, len > 0): inline values
   with straight-line word loads. 0, or -1 if it lies out of bounds. */
static inline int copy_value(const struct mmfi_table *t, const struct mmf_slot *s, uint64_t vs,
                             void *buf, size_t len) {
    if (__builtin_expect(VS_ORDER(vs) == MMF_ORDER_INLINE && len <= MMF_VALUE_INLINE, 1)) {
        words_load_small(buf, s->ival[VS_CUR(vs)], len);
        return 0;
    }
    const mmf_a64 *v = mmfi_value_words(t, s, vs);
    if (!v) return -1;
    words_load(buf, v, len);
    return 0;
}

/*
 * The one seqlock read of a slot. Which variable the caller wants:
 *  - key k: the variable with that key (MMFI_OTHER if the slot holds
 *    another by now);
 *  - k NULL, inc: the incarnation a handle cached (MMFI_OTHER likewise);
 *  - keybuf (k NULL): whatever variable lives there, its key copied into
 *    keybuf (MMFI_MISSING if none), for walks over the slots; a walk also
 *    checks the value's place when the value is too long to copy, so that
 *    a damaged slot is not shown as a variable.
 * MMFI_FOUND / MMFI_SMALL with the copy. Inlined, so each caller gets only
 * its own case.
 */
static inline int read_slot(const struct mmfi_table *t, struct mmf_slot *s,
                            const struct mmfi_key *k, uint64_t inc, char *keybuf, void *buf,
                            size_t cap, mmfi_hit *hit, const mmfi_stall *st) {
    const int any = keybuf != NULL; /* a walk: k NULL and inc unused */
    uint64_t spins = 0;
    for (;;) {
        uint64_t g = seq_read_begin(&s->gen);
        /* relaxed: any hash or incarnation we act on is re-validated by the
           gen re-check */
        uint64_t sinc = load_relaxed(&s->incarnation);
        if (any) {
            if (load_relaxed(&s->hash) < MMF_HASH_KEY_MIN) return MMFI_MISSING;
        } else if (k ? load_relaxed(&s->hash) != k->hash : sinc != inc) {
            return MMFI_OTHER; /* reused since the entry was read */
        }
        int through = 0;
        if (__builtin_expect(g & 1, 0)) {
            int rc = stalled(st, s, &spins);
            if (rc < 0) return rc;
            if (rc != MMFI_STALL_READ_THROUGH) continue;
            through = 1;
        }
        /* acquire: a read through a dead writer's odd gen copies the buffer its
           release store of vstate named, whole */
        uint64_t vs = load_acquire(&s->vstate);
        unsigned klen = VS_KLEN(vs);
        if (k) {
            int eq = mmfi_key_matches(t, s, vs, k);
            if (__builtin_expect(eq <= 0, 0)) {
                if (seq_read_retry(&s->gen, g)) continue;
                return eq < 0 ? MMFI_ECORRUPT : MMFI_OTHER;
            }
        } else if (klen == 0) { /* a free slot: a torn read, or damage */
            if (seq_read_retry(&s->gen, g)) continue;
            return any ? MMFI_ECORRUPT : MMFI_OTHER;
        } else if (any) {
            const mmf_a64 *kw = mmfi_key_words(t, s, klen);
            if (!kw) {
                if (seq_read_retry(&s->gen, g)) continue;
                return MMFI_ECORRUPT;
            }
            words_load(keybuf, kw, klen);
            keybuf[klen] = '\0';
        }
        size_t len = VS_LEN(vs);
        int rc = MMFI_FOUND;
        if (__builtin_expect(len > cap, 0)) {
            rc = MMFI_SMALL;
            if (any && !mmfi_value_words(t, s, vs)) {
                if (seq_read_retry(&s->gen, g)) continue;
                return MMFI_ECORRUPT;
            }
        } else if (len && copy_value(t, s, vs, buf, len)) {
            if (seq_read_retry(&s->gen, g)) continue;
            return MMFI_ECORRUPT;
        }
        if (__builtin_expect(seq_read_retry(&s->gen, g), 0)) continue;
        hit->slot = (uint64_t)(s - t->slots);
        /* a read-through copy is the value the slot keeps once repaired,
           and repair ends the dead writer's publication at g + 1 */
        hit->version = g + (uint64_t)through;
        hit->vstate = vs;
        hit->incarnation = sinc;
        hit->len = len;
        return rc;
    }
}

/* Raises a cached count to v, never lowers it (threads of a handle may
   refresh at once). Relaxed: a cache of counts published with release and
   re-read with acquire. */
static void raise_to(mmf_a64 *cached, uint64_t v) {
    uint64_t cur = load_relaxed(cached);
    while (v > cur && !cas_relaxed(cached, &cur, v)) {
    }
}

int mmfi_refresh(struct mmfi_table *t) {
    uint64_t n = load_acquire(t->slots_committed), before = load_relaxed(&t->nslots);
    if (n > t->slots_max) n = t->slots_max; /* damage: never past the reserve */
    uint64_t units = load_acquire(t->heap_units), hi_before = load_relaxed(&t->heap_hi);
    uint64_t room = (t->heap_hi_max - t->heap_lo) >> MMFA_UNIT_SHIFT;
    uint64_t hi = t->heap_lo + ((units < room ? units : room) << MMFA_UNIT_SHIFT);
    raise_to(&t->nslots, n);
    raise_to(&t->heap_hi, hi);
    return n > before || hi > hi_before;
}

/* One probe of the index in use; MMFI_MISSING only if that index was in use
   throughout. MMFI_RETRY if it was not. */
enum { MMFI_RETRY = 5 };
static int get_once(const struct mmfi_table *t, const struct mmfi_key *k, void *buf, size_t cap,
                    mmfi_hit *hit, const mmfi_stall *st) {
    struct mmfi_view v;
    mmfi_view_load(t, &v);
    uint64_t h = k->hash, tag = ENTRY_TAG(h);
    for (uint64_t i = 0; i <= v.mask; i++) {
        /* acquire: pairs with mmfi_set_entry, so the slot is seen whole */
        uint64_t e = load_acquire(&v.entries[(h + i) & v.mask]);
        if (ENTRY_LIVE(e) && ENTRY_TAG(e) == tag) {
            struct mmf_slot *s = mmfi_entry_slot(t, e);
            if (!s) return MMFI_ECORRUPT;
            int rc = read_slot(t, s, k, 0, NULL, buf, cap, hit, st);
            if (rc != MMFI_OTHER) return rc;
        } else if (e == MMF_ENTRY_EMPTY) {
            break;
        }
    }
    return mmfi_view_current(t, &v) ? MMFI_MISSING : MMFI_RETRY;
}

int mmfi_get(struct mmfi_table *t, const struct mmfi_key *k, void *buf, size_t cap, mmfi_hit *hit,
             const mmfi_stall *st) {
    for (;;) {
        int rc = get_once(t, k, buf, cap, hit, st);
        if (rc == MMFI_RETRY) continue; /* the index was rebuilt under the probe */
        /* out of bounds: past what this handle knew of a namespace that grew? */
        if (rc == MMFI_ECORRUPT && mmfi_refresh(t)) continue;
        return rc;
    }
}

int mmfi_get_at(struct mmfi_table *t, uint64_t inc, void *buf, size_t cap, mmfi_hit *hit,
                const mmfi_stall *st) {
    for (;;) {
        int rc = read_slot(t, &t->slots[MMF_INC_SLOT(inc)], NULL, inc, NULL, buf, cap, hit, st);
        if (rc == MMFI_ECORRUPT && mmfi_refresh(t)) continue;
        return rc;
    }
}

uint64_t mmfi_probe_length(const struct mmfi_table *t, const struct mmfi_key *k) {
    struct mmfi_view v;
    mmfi_view_load(t, &v);
    uint64_t h = k->hash, tag = ENTRY_TAG(h), i = 0;
    while (i <= v.mask) {
        uint64_t e = load_acquire(&v.entries[(h + i++) & v.mask]); /* as mmfi_get */
        if (e == MMF_ENTRY_EMPTY) break;
        if (ENTRY_LIVE(e) && ENTRY_TAG(e) == tag) {
            const struct mmf_slot *s = mmfi_entry_slot(t, e);
            if (s && load_relaxed(&s->hash) == h) break; /* relaxed: a count, not a read */
        }
    }
    return i;
}

int mmfi_read_slot(struct mmfi_table *t, uint64_t i, char *keybuf, void *buf, size_t cap,
                   mmfi_hit *hit, const mmfi_stall *st) {
    for (;;) {
        int rc = read_slot(t, &t->slots[i], NULL, 0, keybuf, buf, cap, hit, st);
        if (rc == MMFI_ECORRUPT && mmfi_refresh(t)) continue;
        return rc;
    }
}
