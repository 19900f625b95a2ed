/*
 * Online index rebuild: growth to a larger capacity, or compaction of
 * tombstones at the same one. Under the namespace mutex, so the entries of
 * the buffer in use and the slots' hashes are stable.
 *
 * The buffer not in use is cleared and filled with every live entry of the
 * one in use (tombstones are left behind), then published with one release
 * store of the descriptor, its generation raised. Readers are never
 * stopped: one that probes the old buffer meanwhile finds what it held (a
 * hit is checked against the slot anyway), and one that probes the buffer
 * while it is being refilled - it loaded the descriptor two rebuilds ago -
 * sees its generation moved before it may answer "not found".
 *
 * A kill -9 before the descriptor store leaves the old buffer in use and
 * the other one garbage that nothing reads as an index: the next rebuild
 * clears it again. After the store, the new buffer is whole.
 */
#include "index.h"
#include "../common/crash.h"

int mmfi_rebuild(const struct mmfi_table *t, unsigned log2cap, uint64_t *live) {
    struct mmfi_view cur;
    mmfi_view_load(t, &cur);
    if (!mmfi_desc_ok(t, cur.desc) || log2cap > 31 || (1ull << log2cap) - 1u > t->mask_max ||
        log2cap < 3)
        return MMFI_ECORRUPT;
    unsigned other = !MMF_DESC_BUF(cur.desc);
    mmf_a64 *to = t->buf[other];
    uint64_t mask = (1ull << log2cap) - 1u, n = 0;
    /* release: a reader that loads one of the stores below (acquire) also
       sees the descriptor that took this buffer out of use, so that its
       "not found" re-check sees it moved */
    fence_release();
    /* relaxed: nobody takes this buffer for the index until the release
       store below; a reader two rebuilds behind validates what it reads */
    for (uint64_t p = 0; p <= mask; p++)
        store_relaxed(&to[p], MMF_ENTRY_EMPTY);
    for (uint64_t p = 0; p <= cur.mask; p++) {
        uint64_t e = load_relaxed(&cur.entries[p]); /* mutex held: stable */
        if (!ENTRY_LIVE(e)) continue;
        const struct mmf_slot *s = mmfi_entry_slot(t, e);
        uint64_t h = s ? load_relaxed(&s->hash) : 0; /* mutex held */
        /* n < mask: an EMPTY entry is left for the probe below to end on */
        if (!s || h < MMF_HASH_KEY_MIN || ENTRY_TAG(h) != ENTRY_TAG(e) || n >= mask)
            return MMFI_ECORRUPT;
        n++;
        uint64_t q = h & mask;
        while (load_relaxed(&to[q]) != MMF_ENTRY_EMPTY)
            q = (q + 1) & mask;
        store_relaxed(&to[q], e);
    }
    MMF_CRASH_POINT("rebuild.filled");
    /* release: a reader that loads the new descriptor (acquire) sees the
       buffer as filled above */
    store_release(t->desc, MMF_DESC_MAKE(MMF_DESC_GEN(cur.desc) + 1, other, log2cap));
    MMF_CRASH_POINT("rebuild.published");
    *live = n;
    return MMFI_FOUND;
}
