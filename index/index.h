/*
 * The variable index: an open-addressed hash table (capacity a power of two,
 * linear probing) of 8-byte entries, each naming a 256-byte slot that holds
 * one variable under its generation counter (common/layout.h).
 *
 * It knows nothing of files or mmap: it is handed the mapping's base, the
 * entry and slot arrays, and the bounds every block offset read from a slot
 * must lie in (struct mmfi_table, filled once from a validated header).
 *
 * Readers (mmfi_get, mmfi_read_at) never write and never block: they load an
 * entry (acquire), and read its slot under the slot's generation (seq.h),
 * checking the slot's full hash and key. Writers claim a slot's owner word
 * first (core decides how to wait for a claim); structural writers also hold
 * the namespace mutex, so under it entries, hashes and keys are stable.
 *
 * Insert: the slot is written whole (seq write), then its entry is stored
 * (release). Delete: the slot is cleared (seq write), so that a reader
 * still holding the old entry fails its hash or generation check instead of
 * copying freed blocks, then the entry becomes a TOMBSTONE. Both are
 * mmfi_publish, and nothing else writes a slot's identity. Probes pass over
 * tombstones, so a concurrent reader of another key never loses its way;
 * inserts reuse them, and a tombstone followed by EMPTY turns back into
 * EMPTY (no key's probe can pass through it).
 *
 * Entries never move within a buffer; a rebuild (rebuild.c) writes every
 * live entry into the other buffer and switches to it with one store of the
 * descriptor. A reader that found its key needs nothing more (the slot's
 * hash and key, checked under its generation, say it is the variable); a
 * reader about to answer "not found" first checks that the descriptor did
 * not move (mmfi_view_current), else it probes again.
 *
 * Growth: slots and heap grow at the end (core/), and the published counts
 * only rise. The table remembers the counts it last saw; an entry or block
 * past them makes it look again (mmfi_refresh) before calling it damage.
 */
#ifndef MMF_INDEX_H
#define MMF_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "../common/layout.h"
#include "../common/words.h"
#include "key.h"

enum {
    MMFI_FOUND = 0,
    MMFI_MISSING = 1,   /* no such key */
    MMFI_SMALL = 2,     /* found, but longer than the caller's buffer */
    MMFI_ECORRUPT = -1, /* an entry or slot pointed outside its bounds */
    MMFI_ENOSPC = -2,   /* no free entry on the probe path */
    MMFI_ESTALL = -3,   /* the stall function gave up (mmfi_stall) */
};

struct mmfi_table {
    unsigned char *base;
    mmf_a64 *desc;     /* the header's index_desc */
    mmf_a64 *buf[2];   /* the two index buffers */
    uint64_t mask_max; /* capacity of a buffer - 1 */
    struct mmf_slot *slots;
    mmf_a64 nslots;                 /* slots committed, as last seen (only rises) */
    uint64_t slots_max;             /* the reserve */
    const mmf_a64 *slots_committed; /* the header's count */
    uint64_t heap_lo;               /* the arena's start */
    mmf_a64 heap_hi;                /* the committed arena's end, as last seen (only rises) */
    uint64_t heap_hi_max;           /* the reserved arena's end */
    const mmf_a64 *heap_units;      /* the heap's committed units */
};

/* Re-reads the published slot count and heap end (acquire: what they cover
   was committed and written before they were published), each clamped to
   its reserve; 1 if either rose, so that a failed bound check may be tried
   again. Any thread of the handle may call it. */
int mmfi_refresh(struct mmfi_table *t);

/* The index buffer in use and its capacity, from one load of the
   descriptor. */
struct mmfi_view {
    mmf_a64 *entries;
    uint64_t mask; /* capacity - 1 */
    uint64_t desc; /* as loaded */
};

/* Loads the descriptor (acquire: pairs with the release store that
   published the buffer, whose entries are then seen as the rebuild wrote
   them). A damaged one still names a mask inside the buffer, so a probe
   stays in bounds and ends; mmfi_desc_ok tells damage. */
MMF_INLINE void mmfi_view_load(const struct mmfi_table *t, struct mmfi_view *v) {
    uint64_t d = load_acquire(t->desc);
    v->entries = t->buf[MMF_DESC_BUF(d)];
    v->mask = d & t->mask_max;
    v->desc = d;
}

/* Whether descriptor d is one a rebuild could have written: a mask of the
   form 2^k - 1, at least 7, within the buffers. */
MMF_INLINE int mmfi_desc_ok(const struct mmfi_table *t, uint64_t d) {
    uint64_t m = MMF_DESC_MASK(d);
    return m >= 7 && m <= t->mask_max && (m & (m + 1)) == 0;
}

/* For writers under the mutex, which change entries: the view, or
   MMFI_ECORRUPT (-1) if the descriptor is damaged. */
MMF_INLINE int mmfi_view_checked(const struct mmfi_table *t, struct mmfi_view *v) {
    mmfi_view_load(t, v);
    return mmfi_desc_ok(t, v->desc) ? 0 : -1;
}

/* Whether the buffer v names is still the one in use; "not found" is an
   answer only then. Acquire: ordered after the probe's entry loads, and the
   next probe sees the new buffer whole. */
MMF_INLINE int mmfi_view_current(const struct mmfi_table *t, const struct mmfi_view *v) {
    return load_acquire(t->desc) == v->desc;
}

/* Whether [off, off + len) lies in the committed heap (and off is
   word-aligned). */
MMF_INLINE int mmfi_block_ok(const struct mmfi_table *t, uint64_t off, uint64_t len) {
    uint64_t hi = load_relaxed(&t->heap_hi); /* relaxed: a cache of a count that only rises */
    return off >= t->heap_lo && off <= hi && len <= hi - off && !(off & 7);
}

/* Where the key of a slot whose vstate says klen lies: the slot itself, or
   a checked key block; NULL if out of bounds. */
MMF_INLINE const mmf_a64 *mmfi_key_words(const struct mmfi_table *t, const struct mmf_slot *s,
                                         unsigned klen) {
    if (klen <= MMF_KEY_INLINE) return s->key;
    uint64_t ko = load_relaxed(&s->key_off); /* checked, then used */
    if (!mmfi_block_ok(t, ko, klen)) return NULL;
    return (const mmf_a64 *)(t->base + ko);
}

/* Whether slot s, whose vstate the caller loaded as vs, holds key k: 1
   equal, 0 different, -1 its key block out of bounds. The one key
   comparison: readers re-validate it with the slot's gen, writers call it
   with the claim or the mutex held. Keys up to 16 bytes (two words in the
   slot, zero past the key) compare without a loop. */
MMF_INLINE int mmfi_key_matches(const struct mmfi_table *t, const struct mmf_slot *s, uint64_t vs,
                                const struct mmfi_key *k) {
    size_t n = k->len;
    if (VS_KLEN(vs) != n) return 0;
    /* relaxed: seqlock-validated by a reader; stable under a writer's claim */
    if (n <= 16)
        return load_relaxed(&s->key[0]) == k->words[0] &&
               (n <= 8 || load_relaxed(&s->key[1]) == k->words[1]);
    const mmf_a64 *w = mmfi_key_words(t, s, (unsigned)n);
    if (!w) return -1;
    for (size_t i = 0; i < words_for(n); i++)
        if (load_relaxed(&w[i]) != k->words[i]) return 0;
    return 1;
}

/* The words of the current value that vstate vs names: an inline buffer or a
   checked block; NULL if out of bounds. Readers re-validate gen after use. */
MMF_INLINE const mmf_a64 *mmfi_value_words(const struct mmfi_table *t, const struct mmf_slot *s,
                                           uint64_t vs) {
    uint64_t len = VS_LEN(vs);
    if (VS_ORDER(vs) == MMF_ORDER_INLINE)
        return len <= MMF_VALUE_INLINE ? s->ival[VS_CUR(vs)] : NULL;
    uint64_t b = load_relaxed(&s->blk[VS_CUR(vs)]); /* loaded once, checked, used */
    return mmfi_block_ok(t, b, len) ? (const mmf_a64 *)(t->base + b) : NULL;
}

/* What a reader does about a slot whose gen stays odd (a write in progress,
   or a writer that died): fn is called after a bounded spin and returns
   MMFI_STALL_WAIT to look again (spins counts its calls from 0),
   MMFI_STALL_READ_THROUGH to read the slot as it is (its owner is dead and
   was an in-place writer, whose vstate is always whole), or MMFI_ESTALL to
   give up. */
enum { MMFI_STALL_WAIT = 0, MMFI_STALL_READ_THROUGH = 1 };
typedef struct mmfi_stall {
    int (*fn)(void *ctx, struct mmf_slot *s, uint64_t spins);
    void *ctx;
} mmfi_stall;

typedef struct mmfi_hit {
    uint64_t slot;    /* index of the slot */
    uint64_t version; /* gen of the copy */
    uint64_t vstate;
    uint64_t incarnation; /* the slot's, read with the copy */
    size_t len;           /* value length */
} mmfi_hit;

/* Lock-free lookup: copies the value into buf if it fits in cap.
   MMFI_FOUND, MMFI_MISSING, MMFI_SMALL (hit->len says how much), MMFI_ECORRUPT
   or MMFI_ESTALL. */
int mmfi_get(struct mmfi_table *t, const struct mmfi_key *k, void *buf, size_t cap, mmfi_hit *hit,
             const mmfi_stall *st);

/* Lock-free read of the slot that incarnation inc names (MMF_INC_SLOT, <
   nslots: the caller checked) if it still shows inc: as mmfi_get, or
   MMFI_OTHER if the slot holds another incarnation by now. */
enum { MMFI_OTHER = 3 };
int mmfi_get_at(struct mmfi_table *t, uint64_t inc, void *buf, size_t cap, mmfi_hit *hit,
                const mmfi_stall *st);

/* Lock-free read of the variable in slot i (< nslots: the caller checked),
   for iteration: its key (NUL-terminated, keybuf holds MMF_KEY_LIMIT + 1)
   and value. MMFI_MISSING if the slot holds no variable. Slots never move,
   so a walk over them sees every variable that lives throughout the walk
   once, whatever the index does meanwhile. */
int mmfi_read_slot(struct mmfi_table *t, uint64_t i, char *keybuf, void *buf, size_t cap,
                   mmfi_hit *hit, const mmfi_stall *st);

/* Entries visited by a lookup of k, up to the one that answered (the index
   in use, not validated against slots): for tests and the dump, which show
   that probes stay short however much the index churned. */
uint64_t mmfi_probe_length(const struct mmfi_table *t, const struct mmfi_key *k);

/* ---- writers ----------------------------------------------------------- */

/* Under the namespace mutex: the entry position of key and its slot
   (*present = 1), or the entry position an insert should use (*present = 0:
   the first tombstone or empty entry on its path). MMFI_ENOSPC if the path
   has no free entry, MMFI_ECORRUPT. */
int mmfi_find_for_write(const struct mmfi_table *t, const struct mmfi_view *v,
                        const struct mmfi_key *k, uint64_t *pos, uint64_t *slot, int *present);

/* Stores an index entry (release: a reader that loads it sees the slot it
   names written whole). Mutex held. */
MMF_INLINE void mmfi_set_entry(const struct mmfi_view *v, uint64_t pos, uint64_t entry) {
    store_release(&v->entries[pos & v->mask], entry);
}

/* Tries to claim s for token (seq_cst CAS 0 -> token: ordered before the
   claimer's load of the lock word, see core/lock.c). On failure *seen is
   the current owner. */
MMF_INLINE int mmfi_claim(struct mmf_slot *s, uint64_t token, uint64_t *seen) {
    uint64_t expected = 0;
    if (cas_seq_cst(&s->owner, &expected, token)) return 1;
    *seen = expected;
    return 0;
}

/* Releases a claim: everything written under it happens before the next
   claimer's acquire. */
MMF_INLINE void mmfi_release(struct mmf_slot *s) {
    store_release(&s->owner, 0);
}

/* Ends the write a dead writer left in s (its claim now held by the
   caller): an odd gen becomes even, publishing the value vstate names,
   which is whole (in place, the flip is one store; structurally, recovery
   applied the image first). 1 if there was a write to end. */
int mmfi_end_dead_write(struct mmf_slot *s);

/* Structural publication by the claim holder under the mutex: the whole slot
   becomes img, at a generation above min_gen. Returns the new version. */
uint64_t mmfi_apply_image(struct mmf_slot *s, const struct mmf_slot_image *img, uint64_t min_gen);

/* The publication of a structural change, in the one order readers rely
   on: slot s becomes img (mmfi_apply_image), then entry pos of the index in
   use v becomes entry (release) - the new variable's entry for an insert,
   MMF_ENTRY_TOMB for a delete; pos UINT64_MAX for no entry change (a value
   replaced). Idempotent, so recovery rolls an interrupted one forward by
   calling it again. Returns the new version. */
uint64_t mmfi_publish(struct mmf_slot *s, const struct mmf_slot_image *img, uint64_t min_gen,
                      const struct mmfi_view *v, uint64_t pos, uint64_t entry);

/* A slot image for key with the given value blocks, or with order
   MMF_ORDER_INLINE the value itself (val, len <= MMF_VALUE_INLINE), at the
   given incarnation: the slot's own for a new value of the same variable,
   the next one (mmfi_next_incarnation) for a new variable. */
void mmfi_make_image(struct mmf_slot_image *img, const struct mmfi_key *k, uint64_t incarnation,
                     uint64_t key_off, uint64_t blk0, uint64_t blk1, unsigned order,
                     const void *val, size_t len);

/* The incarnation a slot takes when it is freed or reused (mutex held: only
   structural writers change it). */
MMF_INLINE uint64_t mmfi_next_incarnation(const struct mmfi_table *t, const struct mmf_slot *s) {
    uint64_t count = MMF_INC_COUNT(load_relaxed(&s->incarnation)); /* relaxed: mutex held */
    return MMF_INC_MAKE(count + 1, (uint64_t)(s - t->slots));
}

/* Under the mutex, after entry pos became a tombstone: turns it and the
   tombstones before it back into EMPTY while the entry after is EMPTY.
   Returns how many it turned. */
uint64_t mmfi_trim_tombstones(const struct mmfi_view *v, uint64_t pos);

/* Under the mutex: writes every live entry of the buffer in use into the
   other one, at capacity 2^log2cap (<= mask_max + 1; the caller committed
   its memory and checked the live entries fit at most half of it), and
   publishes it with one release store of the descriptor, the generation
   raised. *live gets the number of live entries. MMFI_ECORRUPT (nothing
   published) if an entry names a slot that does not hold it. */
int mmfi_rebuild(const struct mmfi_table *t, unsigned log2cap, uint64_t *live);

/* The heap blocks a variable's slot references (at most 3: two value blocks,
   then the key block), as vs (the slot's vstate, loaded once by the caller,
   who uses that same value for anything else) describes them. Their number,
   or MMFI_ECORRUPT if one is out of bounds. */
int mmfi_slot_blocks(const struct mmfi_table *t, const struct mmf_slot *s, uint64_t vs,
                     uint64_t off[3], unsigned order[3]);

/* The slot a live entry names, or NULL if out of bounds (as far as the
   table knows: see mmfi_refresh). */
MMF_INLINE struct mmf_slot *mmfi_entry_slot(const struct mmfi_table *t, uint64_t e) {
    uint64_t i = ENTRY_SLOT(e);
    return i < load_relaxed(&t->nslots) ? &t->slots[i] : NULL; /* relaxed: a cache */
}

/* Value block order for a key block of klen bytes (keys > MMF_KEY_INLINE). */
unsigned mmfi_key_order(size_t klen);

#endif
