/*
 * The read path: probe, read a slot under its generation, copy, validate.
 * No lock, no system call, no allocation, no store to shared memory.
 *
 * Every field is loaded once into a local, checked, then used: block offsets
 * against [heap_lo, heap_hi), lengths against the block. A check that fails
 * while gen moved is a torn read and is retried; one that fails on a stable
 * slot is MMFI_ECORRUPT. Probes stop after capacity slots.
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

static inline int block_ok(const struct mmfi_table *t, uint64_t off, uint64_t len) {
    return off >= t->heap_lo && off <= t->heap_hi && len <= t->heap_hi - off && !(off & 7);
}

/* Where the key of a slot with vstate vs lies, or NULL if out of bounds. */
static inline const mmf_a64 *key_words(const struct mmfi_table *t, const struct mmf_slot *s,
                                       unsigned klen) {
    if (klen <= MMF_KEY_INLINE) return s->key;
    uint64_t ko = load_relaxed(&s->key_off); /* checked, then used */
    if (!block_ok(t, ko, klen)) return NULL;
    return (const mmf_a64 *)(t->base + ko);
}

/* 1 equal, 0 different, -1 key out of bounds */
static inline int key_equal(const struct mmfi_table *t, const struct mmf_slot *s, uint64_t vs,
                            const char *key, size_t klen) {
    if (VS_KLEN(vs) != klen) return 0;
    const mmf_a64 *w = key_words(t, s, (unsigned)klen);
    if (!w) return -1;
    for (size_t i = 0; i < words_for(klen); i++)
        if (load_relaxed(&w[i]) != key_word(key, klen, i)) return 0;
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

static int read_slot(const struct mmfi_table *t, struct mmf_slot *s, uint64_t h, const char *key,
                     size_t klen, void *buf, size_t cap, mmfi_hit *hit, const mmfi_stall *st) {
    uint64_t spins = 0;
    for (;;) {
        uint64_t g = seq_read_begin(&s->gen);
        /* relaxed: any hash we act on is re-validated by the gen re-check */
        uint64_t sh = load_relaxed(&s->hash);
        if (sh == MMF_HASH_EMPTY) return MMFI_MISSING;
        if (sh != h) return SLOT_OTHER;
        int through = 0;
        if (g & 1) {
            int rc = stalled(st, s, &spins);
            if (rc < 0) return rc;
            if (rc != MMFI_STALL_READ_THROUGH) continue;
            through = 1;
        }
        uint64_t vs = load_relaxed(&s->vstate);
        int eq = key_equal(t, s, vs, key, klen);
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
            uint64_t b = load_relaxed(&s->blk[VS_CUR(vs)]);
            if (!block_ok(t, b, len)) {
                if (seq_read_retry(&s->gen, g)) continue;
                return MMFI_ECORRUPT;
            }
            words_load(buf, (const mmf_a64 *)(t->base + b), len);
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

int mmfi_get(const struct mmfi_table *t, uint64_t h, const char *key, size_t klen, void *buf,
             size_t cap, mmfi_hit *hit, const mmfi_stall *st) {
    for (uint64_t i = 0; i <= t->mask; i++) {
        struct mmf_slot *s = &t->slots[(h + i) & t->mask];
        int rc = read_slot(t, s, h, key, klen, buf, cap, hit, st);
        if (rc != SLOT_OTHER) return rc;
    }
    return MMFI_MISSING;
}

int mmfi_read_at(const struct mmfi_table *t, uint64_t idx, char *keybuf, void *buf, size_t cap,
                 mmfi_hit *hit, const mmfi_stall *st) {
    struct mmf_slot *s = &t->slots[idx & t->mask];
    uint64_t spins = 0;
    for (;;) {
        uint64_t g = seq_read_begin(&s->gen);
        uint64_t sh = load_relaxed(&s->hash); /* re-validated below */
        if (sh <= MMF_HASH_TOMB) return MMFI_MISSING;
        int through = 0;
        if (g & 1) {
            int rc = stalled(st, s, &spins);
            if (rc < 0) return rc;
            if (rc != MMFI_STALL_READ_THROUGH) continue;
            through = 1;
        }
        uint64_t vs = load_relaxed(&s->vstate);
        unsigned klen = VS_KLEN(vs);
        const mmf_a64 *kw = key_words(t, s, klen);
        size_t len = VS_LEN(vs);
        uint64_t b = len ? load_relaxed(&s->blk[VS_CUR(vs)]) : 0;
        if (klen == 0 || !kw || (len && !block_ok(t, b, len))) {
            if (seq_read_retry(&s->gen, g)) continue;
            return MMFI_ECORRUPT;
        }
        words_load(keybuf, kw, klen);
        keybuf[klen] = '\0';
        int rc = MMFI_FOUND;
        if (len > cap)
            rc = MMFI_SMALL;
        else if (len)
            words_load(buf, (const mmf_a64 *)(t->base + b), len);
        if (seq_read_retry(&s->gen, g)) continue;
        hit->slot = idx & t->mask;
        hit->version = through ? g + 1 : g;
        hit->vstate = vs;
        hit->len = len;
        return rc;
    }
}
