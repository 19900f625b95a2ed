/*
 * The generation-counter (seqlock) primitive, used by every reader and writer
 * of a slot. A slot's gen is written only through it, and only by one
 * process at a time:
 *  - a writer, between seq_write_begin and seq_write_end (index/write.c),
 *    holding the slot's claim; recovery rolling a dead structural writer's
 *    change forward (mmfi_apply_image) holds the namespace mutex instead;
 *  - whoever takes over the claim of a writer that died mid-write, or
 *    claims a slot whose odd gen has no owner (core/claim.c: a claimer, a
 *    reader on a read-write handle, mmf_lock, recovery): the write stopped,
 *    its vstate is whole, so mmf__finish_dead_write ends the odd gen with
 *    seq_write_end alone.
 * Elsewhere gen is only read: recovery and mmf_check scan it (gen_floor, odd
 * gens), and mmf_wait sleeps on it as a futex word.
 *
 * Writer (the only one, as above):
 *     odd = seq_write_begin(&gen, min);   gen := odd      (release)
 *                                         release fence
 *     ... relaxed atomic stores to the slot and its blocks ...
 *     seq_write_end(&gen, odd);           gen := odd + 1  (release, seq_cst)
 * Reader:
 *     g = seq_read_begin(&gen);           acquire load; odd means "wait"
 *     ... relaxed atomic loads ...
 *     if (seq_read_retry(&gen, g)) retry; acquire fence, relaxed re-load
 *
 * Why it is correct (Boehm, "Can seqlocks get along with programming language
 * memory models?", HP Labs 2012): if any relaxed load of the reader returns a
 * value stored after a writer's release fence, that fence synchronizes with
 * the reader's acquire fence, so the writer's odd store happens before the
 * reader's re-load of gen, which then cannot return g. If the reader's first
 * load returned the even value of seq_write_end, its acquire pairs with that
 * release and every store of that write is visible.
 *
 * seq_write_end is seq_cst rather than release so that it is ordered before
 * the load of the slot's waiter count that follows it (Dekker with mmf_wait:
 * either the writer sees the waiter, or the waiter sees the new gen).
 */
#ifndef MMF_INDEX_SEQ_H
#define MMF_INDEX_SEQ_H

#include "../common/atomics.h"

MMF_INLINE uint64_t seq_read_begin(const mmf_a64 *gen) {
    return load_acquire(gen); /* pairs with seq_write_end */
}

MMF_INLINE int seq_read_retry(const mmf_a64 *gen, uint64_t g) {
    fence_acquire(); /* keeps the data loads above the re-load of gen */
    return load_relaxed(gen) != g;
}

/* Returns the odd generation now in gen: one past the current one, and at
   least min_odd (rounded up to odd) so that versions never repeat. */
MMF_INLINE uint64_t seq_write_begin(mmf_a64 *gen, uint64_t min_odd) {
    /* relaxed: the claim's acquire CAS (in recovery, the mutex) ordered us
       after the previous writer */
    /* an odd gen here was left by a dead writer: this write completes it */
    uint64_t odd = load_relaxed(gen) | 1u;
    if (odd < (min_odd | 1u)) odd = min_odd | 1u;
    /* release: a reader that sees the odd gen also sees the claim taken
       before it, so "no owner" never passes for "owner dead" */
    store_release(gen, odd);
    fence_release(); /* the odd gen is visible before any data store below */
    return odd;
}

MMF_INLINE void seq_write_end(mmf_a64 *gen, uint64_t odd) {
    store_seq_cst(gen, odd + 1); /* release for readers; seq_cst for waiters */
}

#endif
