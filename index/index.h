/*
 * Open-addressed hash index of fixed capacity (a power of two), linear
 * probing, one 128-byte slot per variable (common/layout.h).
 *
 * It knows nothing of files or mmap: it is handed the mapping's base, the slot
 * array and the bounds that every block offset read from a slot must lie in
 * (struct mmfi_table, filled once from a validated header).
 *
 * Readers (mmfi_get, mmfi_read_at) never write and never block: they probe
 * and read slots under the slot's generation counter (seq.h). Writers claim a
 * slot's owner word first (core decides how to wait for a claim); structural
 * writers also hold the namespace mutex, so under it hashes and keys are
 * stable.
 *
 * Deletion leaves a TOMBSTONE, which probes pass over, so a concurrent reader
 * of another key never loses its way. Tombstones are reused by inserts, and
 * a tombstone followed by an EMPTY slot turns back into EMPTY (no key's probe
 * can pass through it), which keeps misses short. Entries never move, so a
 * reader's "not found" needs no relocation check.
 */
#ifndef MMF_INDEX_H
#define MMF_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "../common/layout.h"

enum {
    MMFI_FOUND = 0,
    MMFI_MISSING = 1,   /* no such key */
    MMFI_SMALL = 2,     /* found, but longer than the caller's buffer */
    MMFI_ECORRUPT = -1, /* a slot pointed outside the heap */
    MMFI_ENOSPC = -2,   /* no free slot on the probe path */
    MMFI_ESTALL = -3,   /* the stall function gave up (mmfi_stall) */
};

struct mmfi_table {
    unsigned char *base;
    struct mmf_slot *slots;
    uint64_t mask;             /* capacity - 1 */
    uint64_t heap_lo, heap_hi; /* every block lies in [heap_lo, heap_hi) */
};

/* XXH3 of the key, moved off the two reserved values. */
uint64_t mmfi_hash(const char *key, size_t klen);

/* What a reader does about a slot whose gen stays odd (a write in progress,
   or a writer that died): fn is called after a bounded spin and returns
   MMFI_STALL_WAIT to look again (spins counts its calls from 0), MMFI_STALL_READ_THROUGH to read the slot
   as it is (its owner is dead and was an in-place writer, whose vstate is
   always whole), or MMFI_ESTALL to give up. */
enum { MMFI_STALL_WAIT = 0, MMFI_STALL_READ_THROUGH = 1 };
typedef struct mmfi_stall {
    int (*fn)(void *ctx, struct mmf_slot *s, uint64_t spins);
    void *ctx;
} mmfi_stall;

typedef struct mmfi_hit {
    uint64_t slot;    /* index of the slot */
    uint64_t version; /* gen of the copy */
    uint64_t vstate;
    size_t len; /* value length */
} mmfi_hit;

/* Lock-free lookup: copies the value into buf if it fits in cap.
   MMFI_FOUND, MMFI_MISSING, MMFI_SMALL (hit->len says how much), MMFI_ECORRUPT
   or MMFI_ESTALL. */
int mmfi_get(const struct mmfi_table *t, uint64_t h, const char *key, size_t klen, void *buf,
             size_t cap, mmfi_hit *hit, const mmfi_stall *st);

/* Lock-free read of slot idx for iteration: its key (NUL-terminated, keybuf
   holds MMF_KEY_MAX + 1) and value. MMFI_MISSING if the slot is not live. */
int mmfi_read_at(const struct mmfi_table *t, uint64_t idx, char *keybuf, void *buf, size_t cap,
                 mmfi_hit *hit, const mmfi_stall *st);

/* ---- writers ----------------------------------------------------------- */

/* Under the namespace mutex: the slot holding key (*present = 1) or the slot
   an insert should use (*present = 0; the first tombstone or empty slot on
   its path). MMFI_ENOSPC if the path has no free slot, MMFI_ECORRUPT. */
int mmfi_find_for_write(const struct mmfi_table *t, uint64_t h, const char *key, size_t klen,
                        uint64_t *slot, int *present);

/* Whether the live slot s holds key (caller holds the claim or the mutex). */
int mmfi_holds_key(const struct mmfi_table *t, const struct mmf_slot *s, uint64_t h,
                   const char *key, size_t klen);

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

/* Whether a value of len bytes can be written in place (into the spare block,
   or len 0 into a slot without blocks); the spare block's offset in *spare. */
int mmfi_fits(const struct mmfi_table *t, const struct mmf_slot *s, size_t len);

/* In-place publication by the claim holder: value into the spare block, then
   one store of vstate flips spare and current. Returns the new version.
   The caller checked mmfi_fits. */
uint64_t mmfi_write_inplace(const struct mmfi_table *t, struct mmf_slot *s, const void *val,
                            size_t len);

/* Structural publication by the claim holder under the mutex: the whole slot
   becomes img, at a generation above min_gen. Returns the new version. */
uint64_t mmfi_apply_image(struct mmf_slot *s, const struct mmf_slot_image *img, uint64_t min_gen);

/* A slot image for key with the given value blocks. */
void mmfi_make_image(struct mmf_slot_image *img, uint64_t h, const char *key, size_t klen,
                     uint64_t key_off, uint64_t blk0, uint64_t blk1, unsigned order, size_t len);

/* Under the mutex, after slot idx became a tombstone: turns it and the
   tombstones before it back into EMPTY while the slot after is EMPTY.
   Returns how many it turned. */
uint64_t mmfi_trim_tombstones(const struct mmfi_table *t, uint64_t idx);

/* The blocks a live slot references (at most 3: two value blocks and a key
   block). Returns their number, or MMFI_ECORRUPT if one is out of bounds. */
int mmfi_slot_blocks(const struct mmfi_table *t, const struct mmf_slot *s, uint64_t off[3],
                     unsigned order[3]);

/* Value block order for a key block of klen bytes (keys > MMF_KEY_INLINE). */
unsigned mmfi_key_order(size_t klen);

#endif
