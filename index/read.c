/*
 * The read path: probe the entries, read the matching slot under its
 * generation, copy, validate. No lock, no system call, no allocation, no
 * store to shared memory.
 *
 * Every field is loaded once into a local, checked, then used: slot indices
 * against the slot count, block offsets against [heap_lo, heap_hi), lengths
 * against the block. A check that fails while gen moved is a torn read and
 * is retried; one that fails on a stable slot is MMFI_ECORRUPT. Probes stop
 * after capacity entries.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "index.h"
#include "seq.h"
#include "../common/words.h"

#define SPINS_BEFORE_STALL 1024u

uint64_t mmfi_hash(const char *key, size_t klen) {
    uint64_t h = XXH3_64bits(key, klen);
    return h <= MMF_HASH_TOMB ? h + 2 : h;
}

void mmfi_key_init(struct mmfi_key *k, const char *key, size_t klen) {
    k->hash = mmfi_hash(key, klen);
    k->len = klen;
    k->bytes = key;
    k->words[(klen - 1) / 8] = 0; /* the padding of the last word */
    memcpy(k->words, key, klen);
}

/* Where the key of a slot with vstate vs lies, or NULL if out of bounds. */
static inline const mmf_a64 *key_words(const struct mmfi_table *t, const struct mmf_slot *s,
                                       unsigned klen) {
    if (klen <= MMF_KEY_INLINE) return s->key;
    uint64_t ko = load_relaxed(&s->key_off); /* checked, then used */
    if (!mmfi_block_ok(t, ko, klen)) return NULL;
    return (const mmf_a64 *)(t->base + ko);
}

/* 1 equal, 0 different, -1 key out of bounds */
static inline int key_equal(const struct mmfi_table *t, const struct mmf_slot *s, uint64_t vs,
                            const struct mmfi_key *k) {
    if (VS_KLEN(vs) != k->len) return 0;
    const mmf_a64 *w = key_words(t, s, (unsigned)k->len);
    if (!w) return -1;
    for (size_t i = 0; i < words_for(k->len); i++)
        if (load_relaxed(&w[i]) != k->words[i]) return 0; /* seqlock-validated by the caller */
    return 1;
}

enum { SLOT_OTHER = 3 };

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

/* The variable in slot s, if it is key: MMFI_FOUND / MMFI_SMALL with the
   copy, SLOT_OTHER if the slot holds something else by now. */
static int read_slot(const struct mmfi_table *t, struct mmf_slot *s, const struct mmfi_key *k,
                     void *buf, size_t cap, mmfi_hit *hit, const mmfi_stall *st) {
    uint64_t spins = 0;
    for (;;) {
        uint64_t g = seq_read_begin(&s->gen);
        /* relaxed: any hash we act on is re-validated by the gen re-check */
        if (load_relaxed(&s->hash) != k->hash) return SLOT_OTHER; /* reused since the entry was read */
        int through = 0;
        if (g & 1) {
            int rc = stalled(st, s, &spins);
            if (rc < 0) return rc;
            if (rc != MMFI_STALL_READ_THROUGH) continue;
            through = 1;
        }
        /* acquire: a read through a dead writer's odd gen copies the buffer its
           release store of vstate named, whole */
        uint64_t vs = load_acquire(&s->vstate);
        int eq = key_equal(t, s, vs, k);
        if (eq <= 0) {
            if (seq_read_retry(&s->gen, g)) continue;
            if (eq < 0) return MMFI_ECORRUPT;
            return SLOT_OTHER;
        }
        size_t len = VS_LEN(vs);
        int rc = MMFI_FOUND;
        if (len > cap) {
            rc = MMFI_SMALL;
        } else if (len) {
            const mmf_a64 *v = mmfi_value_words(t, s, vs);
            if (!v) {
                if (seq_read_retry(&s->gen, g)) continue;
                return MMFI_ECORRUPT;
            }
            words_load(buf, v, len);
        }
        if (seq_read_retry(&s->gen, g)) continue;
        hit->slot = (uint64_t)(s - t->slots);
        /* a read-through copy is the value the slot keeps once repaired,
           and repair ends the dead writer's publication at g + 1 */
        hit->version = through ? g + 1 : g;
        hit->vstate = vs;
        hit->len = len;
        return rc;
    }
}

int mmfi_get(const struct mmfi_table *t, const struct mmfi_key *k, void *buf, size_t cap,
             mmfi_hit *hit, const mmfi_stall *st) {
    uint64_t h = k->hash, tag = ENTRY_TAG(h);
    for (uint64_t i = 0; i <= t->mask; i++) {
        /* acquire: pairs with mmfi_set_entry, so the slot is seen whole */
        uint64_t e = load_acquire(&t->entries[(h + i) & t->mask]);
        if (e == MMF_ENTRY_EMPTY) return MMFI_MISSING;
        if (!ENTRY_LIVE(e) || ENTRY_TAG(e) != tag) continue;
        struct mmf_slot *s = mmfi_entry_slot(t, e);
        if (!s) return MMFI_ECORRUPT;
        int rc = read_slot(t, s, k, buf, cap, hit, st);
        if (rc != SLOT_OTHER) return rc;
    }
    return MMFI_MISSING;
}

int mmfi_read_at(const struct mmfi_table *t, uint64_t pos, char *keybuf, void *buf, size_t cap,
                 mmfi_hit *hit, const mmfi_stall *st) {
    uint64_t e = load_acquire(&t->entries[pos & t->mask]); /* pairs with mmfi_set_entry */
    if (!ENTRY_LIVE(e)) return MMFI_MISSING;
    struct mmf_slot *s = mmfi_entry_slot(t, e);
    if (!s) return MMFI_ECORRUPT;
    uint64_t spins = 0;
    for (;;) {
        uint64_t g = seq_read_begin(&s->gen);
        uint64_t sh = load_relaxed(&s->hash); /* re-validated below */
        if (sh <= MMF_HASH_TOMB || ENTRY_TAG(sh) != ENTRY_TAG(e)) return MMFI_MISSING;
        int through = 0;
        if (g & 1) {
            int rc = stalled(st, s, &spins);
            if (rc < 0) return rc;
            if (rc != MMFI_STALL_READ_THROUGH) continue;
            through = 1;
        }
        /* acquire: a read through a dead writer's odd gen copies the buffer its
           release store of vstate named, whole */
        uint64_t vs = load_acquire(&s->vstate);
        unsigned klen = VS_KLEN(vs);
        const mmf_a64 *kw = key_words(t, s, klen);
        size_t len = VS_LEN(vs);
        const mmf_a64 *v = len ? mmfi_value_words(t, s, vs) : NULL;
        if (klen == 0 || !kw || (len && !v)) {
            if (seq_read_retry(&s->gen, g)) continue;
            return MMFI_ECORRUPT;
        }
        words_load(keybuf, kw, klen);
        keybuf[klen] = '\0';
        int rc = MMFI_FOUND;
        if (len > cap)
            rc = MMFI_SMALL;
        else if (len)
            words_load(buf, v, len);
        if (seq_read_retry(&s->gen, g)) continue;
        hit->slot = ENTRY_SLOT(e);
        hit->version = through ? g + 1 : g;
        hit->vstate = vs;
        hit->len = len;
        return rc;
    }
}
