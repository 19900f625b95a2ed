/*
 * The variable operations: get, exists, set, cas, add, delete.
 *
 * A write first tries the in-place path: find the slot lock-free, claim it,
 * check the explicit lock word, and publish into the spare block (no mutex).
 * Anything that allocates or frees - a new variable, a value that does not
 * fit its block, a delete - runs under the namespace mutex, with an intent
 * record so that a kill -9 at any point is rolled forward by recovery.
 * Failures before the intent record is READY free what they allocated and
 * change nothing.
 *
 * Each step, by its crash point (tests/test_crash.c kills at every one):
 * what a kill -9 there leaves, and who repairs it. "Recovery" is the next
 * process to take the mutex (core/recover.c); "a claimer" is any read-write
 * reader or writer that meets the dead writer's claim (core/claim.c).
 *
 *   in place (claim, no mutex)
 *     inplace.claimed        nothing written          a claimer clears the claim
 *     inplace.written        gen odd, old value whole a claimer ends the odd gen
 *     inplace.flipped        gen odd, new value whole a claimer ends the odd gen
 *     inplace.before_release the write done, claimed  a claimer clears the claim
 *   before any structural write (grow.c, index/rebuild.c)
 *     grow.*.committed       file allocated, no count nothing visible; the next
 *                                                     growth commits it again
 *     alloc.grow.published   heap count up, new units recovery's free-list rebuild
 *                            on no free list          takes them in
 *     rebuild.filled         the old index in use     nothing to repair
 *     rebuild.published      the new index in use,    recovery recounts
 *                            counters not yet reset
 *   insert (mutex)
 *     insert.slot            a slot taken, unnamed    recovery's slot-chain rebuild
 *     alloc.split/merge      blocks taken, unnamed    recovery's free-list rebuild
 *     insert.claimed         the slot claimed         recovery clears the claim
 *     publish.ready          intent READY             recovery applies the intent:
 *     publish.half           slot half written          the slot image, then the
 *     publish.before_entry   slot written, no entry     entry (idempotent)
 *     publish.before_clear   published, intent READY
 *     insert.before_release  published, claimed       recovery clears the claim
 *   replace (mutex; a value that outgrew its blocks)
 *     replace.blocks         new blocks, unnamed      recovery's free-list rebuild
 *     publish.*              as for insert, no entry  recovery applies the intent
 *     replace.before_free    old blocks unnamed       recovery's free-list rebuild
 *   delete (mutex)
 *     delete.claimed         nothing changed, claimed recovery clears the claim
 *     publish.*              as for insert; the entry recovery applies the intent
 *                            becomes a tombstone
 *     delete.published       deleted, claimed         recovery clears the claim
 *     delete.blocks_freed    the slot on no chain     recovery's slot-chain rebuild
 *     delete.before_trim     tombstones not trimmed   recovery trims and recounts
 * Readers never wait for a repair: until the entry is stored they do not
 * find the new variable, and an odd gen (or a dead in-place writer's) they
 * wait out or read through (index/read.c).
 */
#include <string.h>

#include "internal.h"
#include "../common/crash.h"
#include "../common/words.h"
#include "../index/fast.h"
#include "../index/inplace.h"

/* The whole read, with the stall function (a slot mid-write, a dead
   writer), for any key: measured and checked here, off the fast path. */
__attribute__((noinline)) static int get_slow(mmf *ns, const char *key, void *buf, size_t cap,
                                              size_t *len, uint64_t *version, uint8_t *tag) {
    struct mmfi_key k;
    if (mmf__key_prepare(&k, key)) return MMF_EINVAL;
    struct mmf_read_ctx ctx = mmf__read_ctx(ns);
    mmfi_stall st = mmf__read_stall_on(&ctx);
    mmfi_hit hit;
    int rc = mmfi_get(&ns->t, &k, buf, cap, &hit, &st);
    return mmf__get_result(rc, &hit, &ctx, len, version, tag);
}

/* get_slow for mmf_get: five arguments, so that the fast path reaches it
   with a jump, not a call with arguments on the stack. */
__attribute__((noinline)) static int get_slow_plain(mmf *ns, const char *key, void *buf, size_t cap,
                                                    size_t *len) {
    return get_slow(ns, key, buf, cap, len, NULL, NULL);
}

/* Checked once, the key measured (index/key.h) and hashed
   (mmfi_key16_scan); a key up to 16 bytes takes the fast path (fast.h). */
MMF_INLINE int get_common(mmf *ns, const char *key, void *buf, size_t cap, size_t *len,
                          uint64_t *version, uint8_t *tag) {
    /* tested one by one: gcc 12 merges fewer of them into flags and an or
       (two instructions fewer per get than one test of all three) */
    if (__builtin_expect(!ns, 0)) return MMF_EINVAL;
    if (__builtin_expect(!key, 0)) return MMF_EINVAL;
    if (__builtin_expect(!len, 0)) return MMF_EINVAL;
    if (__builtin_expect(!buf, 0) && cap) return MMF_EINVAL;
    struct mmfi_key16 k;
    size_t n = mmfi_key16_scan(key, &k);
    if (__builtin_expect(n == 0, 0)) return MMF_EINVAL;
    int rc = MMFI_SLOW;
    mmfi_hit hit;
    if (__builtin_expect(n <= 16, 1)) rc = mmfi_get_fast(&ns->t, k, buf, cap, &hit);
    if (__builtin_expect(rc == MMFI_FOUND, 1)) {
        *len = hit.len;
        if (version) *version = hit.version;
        if (tag) *tag = (uint8_t)VS_TAG(hit.vstate);
        return MMF_OK;
    }
    if (rc == MMFI_MISSING) {
        if (version) *version = 0;
        return MMF_ENOTFOUND;
    }
    if (!version && !tag) return get_slow_plain(ns, key, buf, cap, len);
    return get_slow(ns, key, buf, cap, len, version, tag);
}

int mmf_get(mmf *ns, const char *key, void *buf, size_t cap, size_t *len) {
    return get_common(ns, key, buf, cap, len, NULL, NULL);
}

int mmf_get_v(mmf *ns, const char *key, void *buf, size_t cap, size_t *len, uint64_t *version) {
    if (!version) return MMF_EINVAL;
    return get_common(ns, key, buf, cap, len, version, NULL);
}

int mmf_get_tagged(mmf *ns, const char *key, void *buf, size_t cap, size_t *len, uint64_t *version,
                   uint8_t *tag) {
    if (!version || !tag) return MMF_EINVAL;
    return get_common(ns, key, buf, cap, len, version, tag);
}

int mmf_exists(mmf *ns, const char *key) {
    size_t len;
    int rc = get_common(ns, key, NULL, 0, &len, NULL, NULL);
    if (rc == MMF_OK || rc == MMF_ERANGE) return 1;
    return rc == MMF_ENOTFOUND ? 0 : rc;
}

/* With the slot claimed: checks and computes what the operation writes. */
static int prepare(mmf *ns, struct mmf_slot *s, struct mmf__write_op *op) {
    if (op->kind == OP_CAS) {
        /* relaxed: the claim we hold keeps gen still */
        if (load_relaxed(&s->gen) != op->expected) return MMF_ECONFLICT;
    } else if (op->kind == OP_ADD) {
        uint64_t vs = load_relaxed(&s->vstate); /* claim held */
        if (VS_LEN(vs) != sizeof(int64_t)) return MMF_EINVAL;
        const mmf_a64 *w = mmfi_value_words(&ns->t, s, vs);
        if (!w) return MMF_ECORRUPT;
        int64_t cur;
        words_load(&cur, w, sizeof cur);
        op->sum = (int64_t)((uint64_t)cur + (uint64_t)op->delta); /* wraps, never UB */
        op->val = &op->sum;
        op->len = sizeof op->sum;
    }
    return MMF_OK;
}

int mmf__write_slot(mmf *ns, uint64_t me, uint64_t slot, const struct mmfi_key *k, uint64_t inc,
                    struct mmf__write_op *op) {
    struct mmf_slot *s = &ns->t.slots[slot];
    struct mmfi_place place;
    /* the lines used after the claim (the spare value buffer, either of
       two, written; the waiters flag, read), fetched while the claim's CAS
       waits for line 0: a locked instruction lets no later miss start
       before it ends. (prefetch_write is a read prefetch unless the build
       targets a CPU with PREFETCHW, e.g. -march=native.) */
    prefetch_read(&s->waiters);
    prefetch_write(s->ival[0]);
    prefetch_write(s->ival[1]);
    int rc = mmf__claim(ns, s, me);
    if (rc) return rc;
    MMF_CRASH_POINT("inplace.claimed");
    /* seq_cst: after our seq_cst claim (Dekker with mmf_lock, see lock.c) */
    if (load_seq_cst(&ns->hdr->lock_owner) && !mmf__holds_lock(ns)) {
        rc = MMF__FALLBACK; /* somebody holds the explicit lock: wait for it */
    } else {
        /* the variable we looked up, still: by its key, or by the slot's
           incarnation (relaxed: it changes only under a structural claim,
           which our claim excludes) */
        int eq = k ? mmfi_holds_key(&ns->t, s, k) : load_relaxed(&s->incarnation) == inc;
        if (eq != 1) /* deleted or moved meanwhile; or a key block past the heap this handle
                        knows of, which the structural path (synced) looks at again */
            rc = MMF__FALLBACK;
        else if (!(rc = prepare(ns, s, op)) && !mmfi_fits(&ns->t, s, op->len, &place))
            rc = MMF__FALLBACK;
    }
    if (rc == MMF_OK) mmfi_write_inplace(s, &place, op->val, op->len, op->tag);
    MMF_CRASH_POINT("inplace.before_release");
    mmfi_release(s);
    if (rc == MMF_OK) mmf__wake_slot(s);
    return rc;
}

static void free_blocks(mmf *ns, const uint64_t *off, const unsigned *order, int n) {
    for (int i = 0; i < n; i++)
        if (off[i] && mmfa_free(&ns->heap, off[i], order[i]))
            MMF_DEBUG(ns, "heap: block %llu was not allocated; run mmf_check",
                      (unsigned long long)off[i]);
}

/* A block of the given order, the heap grown first if none is free. */
static int alloc_block(mmf *ns, unsigned order, uint64_t *off) {
    int rc = mmfa_alloc(&ns->heap, order, off);
    if (rc == MMFA_ENOSPC) {
        rc = mmf__grow_heap(ns, order);
        if (rc) return rc;
        rc = mmfa_alloc(&ns->heap, order, off);
    }
    return rc == MMFA_OK ? MMF_OK : rc == MMFA_ENOSPC ? MMF_ENOSPC : MMF_ECORRUPT;
}

/* Where a value of len bytes goes: nowhere (empty), inline in the slot, or
   two blocks with the value written into the first. */
static int alloc_value(mmf *ns, const void *val, size_t len, uint64_t b[2], unsigned *order) {
    b[0] = b[1] = 0;
    *order = len == 0 ? MMF_ORDER_NONE : MMF_ORDER_INLINE;
    if (len <= MMF_VALUE_INLINE) return MMF_OK;
    int k = mmfa_order_for(&ns->heap, len);
    if (k < 0) return MMF_ENOSPC;
    int rc = alloc_block(ns, (unsigned)k, &b[0]);
    if (!rc) {
        rc = alloc_block(ns, (unsigned)k, &b[1]);
        if (rc) mmfa_free(&ns->heap, b[0], (unsigned)k);
    }
    if (rc) return rc;
    /* fresh blocks may still be read by a stale reader: word stores */
    words_store((mmf_a64 *)(ns->base + b[0]), val, len);
    *order = (unsigned)k;
    return MMF_OK;
}

/* Publishes img into slot idx (claimed) through the intent record, then sets
   entry pos (UINT64_MAX: none) of the index in use, v, to entry. */
static uint64_t publish(mmf *ns, uint64_t idx, const struct mmf_slot_image *img, uint64_t min_gen,
                        const struct mmfi_view *v, uint64_t pos, uint64_t entry) {
    struct mmf_intent *in = &ns->hdr->intent;
    in->slot = idx;
    in->min_gen = min_gen;
    in->entry_pos = pos;
    in->entry = entry;
    in->img = *img;
    store_release(&in->state, MMF_INTENT_READY); /* pairs with recovery's acquire */
    MMF_CRASH_POINT("publish.ready");
    uint64_t g = mmfi_publish(&ns->t.slots[idx], img, min_gen, v, pos, entry);
    MMF_CRASH_POINT("publish.before_clear");
    store_release(&in->state, MMF_INTENT_NONE);
    return g;
}

static void structure_changed(mmf *ns) {
    /* seq_cst: before the load of struct_waiters (Dekker with mmf_wait) */
    fetch_add32_seq_cst(&ns->hdr->struct_seq, 1);
    mmf__wake_struct(ns);
}

static int replace_value(mmf *ns, uint64_t idx, const struct mmfi_key *k,
                         const struct mmf__write_op *op) {
    struct mmf_slot *s = &ns->t.slots[idx];
    uint64_t old[3], ko = 0;
    unsigned old_order[3];
    uint64_t vs = load_relaxed(&s->vstate); /* claim and mutex held; loaded once */
    if (VS_KLEN(vs) != k->len) return MMF_ECORRUPT;
    int nold = mmfi_slot_blocks(&ns->t, s, vs, old, old_order);
    if (nold < 0) return MMF_ECORRUPT;
    if (k->len > MMF_KEY_INLINE) ko = old[--nold]; /* the key block stays */
    uint64_t b[2];
    unsigned order;
    int rc = alloc_value(ns, op->val, op->len, b, &order);
    if (rc) return rc;
    MMF_CRASH_POINT("replace.blocks");
    struct mmf_slot_image img;
    /* relaxed: the incarnation changes only under the mutex we hold */
    mmfi_make_image(&img, k, load_relaxed(&s->incarnation), ko, b[0], b[1], order, op->val,
                    op->len); /* the same variable: the same incarnation */
    img.vstate = VS_WITH_TAG(img.vstate, op->tag);
    publish(ns, idx, &img, 0, NULL, UINT64_MAX, 0);
    MMF_CRASH_POINT("replace.before_free");
    free_blocks(ns, old, old_order, nold);
    return MMF_OK;
}

static int insert(mmf *ns, uint64_t me, const struct mmfi_view *v, uint64_t pos,
                  const struct mmfi_key *k, const struct mmf__write_op *op) {
    struct mmf_header *hd = ns->hdr;
    uint64_t idx, ko = 0, b[2] = {0, 0};
    unsigned order = MMF_ORDER_NONE, korder = mmfi_key_order(k->len);
    int rc = mmf__slot_alloc(ns, &idx);
    if (rc) return rc;
    MMF_CRASH_POINT("insert.slot");
    struct mmf_slot *s = &ns->t.slots[idx];
    if (k->len > MMF_KEY_INLINE) {
        rc = alloc_block(ns, korder, &ko);
        if (!rc) words_store((mmf_a64 *)(ns->base + ko), k->bytes, k->len);
    }
    if (!rc) rc = alloc_value(ns, op->val, op->len, b, &order);
    if (!rc) rc = mmf__claim(ns, s, me | MMF_OWNER_STRUCT);
    if (rc) { /* give back what was taken: nothing changed */
        if (order < MMFA_ORDERS) free_blocks(ns, b, (unsigned[]){order, order}, 2);
        if (ko) mmfa_free(&ns->heap, ko, korder);
        mmf__slot_free(ns, idx);
        return rc;
    }
    MMF_CRASH_POINT("insert.claimed");
    int was_tomb = load_relaxed(&v->entries[pos]) == MMF_ENTRY_TOMB; /* mutex held */
    struct mmf_slot_image img;
    mmfi_make_image(&img, k, mmfi_next_incarnation(&ns->t, s), ko, b[0], b[1], order, op->val,
                    op->len);
    img.vstate = VS_WITH_TAG(img.vstate, op->tag);
    publish(ns, idx, &img, load_relaxed(&hd->gen_floor) + 1, v, pos, ENTRY_MAKE(k->hash, idx));
    MMF_CRASH_POINT("insert.before_release");
    mmfi_release(s);
    mmf__wake_slot(s);
    store_relaxed(&hd->vars, load_relaxed(&hd->vars) + 1); /* counters: under the mutex */
    if (was_tomb) store_relaxed(&hd->tombstones, load_relaxed(&hd->tombstones) - 1);
    structure_changed(ns);
    return MMF_OK;
}

/* No lookup under the slot's generation: the probe only finds the slot
   (mmfi_find_hint); the claim, then the key checked under it, make sure. A
   slot mid-write is waited for by the claim, as before. */
static int write_inplace(mmf *ns, uint64_t me, const struct mmfi_key *k, struct mmf__write_op *op) {
    int64_t slot = mmfi_find_hint(&ns->t, k);
    if (slot < 0) return MMF__FALLBACK; /* missing (or odd): the structural path decides */
    return mmf__write_slot(ns, me, (uint64_t)slot, k, 0, op);
}

/* Under the mutex: key k in the index in use (loaded into v), as
   mmfi_find_for_write, with *pos UINT64_MAX where an insert would find no
   free entry. MMF_OK or MMF_ECORRUPT. */
static int find(mmf *ns, struct mmfi_view *v, const struct mmfi_key *k, uint64_t *pos,
                uint64_t *idx, int *present) {
    *present = 0;
    if (mmfi_view_checked(&ns->t, v)) return MMF_ECORRUPT;
    int rc = mmfi_find_for_write(&ns->t, v, k, pos, idx, present);
    if (rc == MMFI_ENOSPC) *pos = UINT64_MAX;
    return rc == MMFI_ECORRUPT ? MMF_ECORRUPT : MMF_OK;
}

int mmf__write_locked(mmf *ns, uint64_t me, const struct mmfi_key *k, struct mmf__write_op *op) {
    int rc = mmf__mutex_lock_timed(ns);
    if (rc) return rc;
    uint64_t pos, idx = 0;
    int present = 0;
    struct mmfi_view v;
    rc = mmf__index_room(ns, false);
    if (!rc) rc = find(ns, &v, k, &pos, &idx, &present);
    if (rc == MMF_OK && !present && !(op->kind == OP_CAS && op->expected != 0)) {
        /* an insert: first room for one more entry (the index may move) */
        rc = mmf__index_room(ns, true);
        if (!rc) rc = find(ns, &v, k, &pos, &idx, &present);
    }
    if (rc) {
        /* as mmf__index_room or find said */
    } else if (present) {
        struct mmf_slot *s = &ns->t.slots[idx];
        rc = mmf__claim(ns, s, me | MMF_OWNER_STRUCT);
        if (!rc) {
            struct mmfi_place place;
            rc = prepare(ns, s, op);
            if (!rc && mmfi_fits(&ns->t, s, op->len, &place))
                mmfi_write_inplace(s, &place, op->val, op->len, op->tag);
            else if (!rc)
                rc = replace_value(ns, idx, k, op);
            mmfi_release(s);
            if (!rc) mmf__wake_slot(s);
        }
    } else if (op->kind == OP_CAS && op->expected != 0) {
        rc = MMF_ECONFLICT;
    } else if (pos == UINT64_MAX) {
        rc = MMF_ENOSPC;
    } else {
        if (op->kind == OP_ADD) {
            op->sum = op->delta;
            op->val = &op->sum;
            op->len = sizeof op->sum;
        }
        rc = insert(ns, me, &v, pos, k, op);
    }
    mmf__mutex_unlock(ns);
    return rc;
}

int mmf__write_begin(mmf *ns, const struct mmf__write_op *op, uint64_t *me) {
    if ((!op->val && op->len) || op->len > MMF_VALUE_MAX) return MMF_EINVAL;
    int rc = mmf__me(ns, me); /* MMF_EPERM for a read-only handle */
    if (rc) return rc;
    if (!ns->autolock && !mmf__holds_lock(ns)) return MMF_ENOLOCK;
    return MMF_OK;
}

static int write_by_name(mmf *ns, const char *key, struct mmf__write_op *op) {
    struct mmfi_key k;
    if (!ns || mmf__key_prepare(&k, key)) return MMF_EINVAL;
    uint64_t me;
    int rc = mmf__write_begin(ns, op, &me);
    if (rc) return rc;
    rc = write_inplace(ns, me, &k, op);
    if (rc == MMF__FALLBACK) rc = mmf__write_locked(ns, me, &k, op);
    return rc;
}

int mmf_set(mmf *ns, const char *key, const void *val, size_t len) {
    struct mmf__write_op op = {.kind = OP_SET, .val = val, .len = len};
    return write_by_name(ns, key, &op);
}

int mmf_cas(mmf *ns, const char *key, uint64_t expected_version, const void *val, size_t len) {
    return mmf_cas_tagged(ns, key, expected_version, val, len, 0);
}

int mmf_set_tagged(mmf *ns, const char *key, const void *val, size_t len, uint8_t tag) {
    struct mmf__write_op op = {.kind = OP_SET, .val = val, .len = len, .tag = tag};
    return write_by_name(ns, key, &op);
}

int mmf_cas_tagged(mmf *ns, const char *key, uint64_t expected_version, const void *val, size_t len,
                   uint8_t tag) {
    struct mmf__write_op op = {
        .kind = OP_CAS, .val = val, .len = len, .expected = expected_version, .tag = tag};
    return write_by_name(ns, key, &op);
}

int mmf_add_i64(mmf *ns, const char *key, int64_t delta, int64_t *result) {
    struct mmf__write_op op = {.kind = OP_ADD, .delta = delta};
    int rc = write_by_name(ns, key, &op);
    if (!rc && result) *result = op.sum;
    return rc;
}

int mmf_delete(mmf *ns, const char *key) {
    struct mmfi_key k;
    if (!ns || mmf__key_prepare(&k, key)) return MMF_EINVAL;
    uint64_t me;
    int rc = mmf__me(ns, &me); /* MMF_EPERM for a read-only handle */
    if (rc) return rc;
    if (!ns->autolock && !mmf__holds_lock(ns)) return MMF_ENOLOCK;
    rc = mmf__mutex_lock_timed(ns);
    if (rc) return rc;
    uint64_t pos, idx = 0, blocks[3];
    unsigned orders[3];
    int present = 0, n = 0;
    struct mmfi_view v;
    rc = mmf__index_room(ns, false);
    if (!rc) rc = find(ns, &v, &k, &pos, &idx, &present);
    struct mmf_slot *s = &ns->t.slots[idx];
    if (rc) {
        /* as mmf__index_room or find said */
    } else if (!present)
        rc = MMF_ENOTFOUND;
    else if ((n = mmfi_slot_blocks(&ns->t, s, load_relaxed(&s->vstate), blocks, orders)) < 0)
        rc = MMF_ECORRUPT; /* vstate: mutex held, used only here */
    else
        rc = mmf__claim(ns, s, me | MMF_OWNER_STRUCT);
    if (!rc) {
        struct mmf_header *hd = ns->hdr;
        struct mmf_slot_image img;
        memset(&img, 0, sizeof img);                        /* hash EMPTY: a free slot */
        img.incarnation = mmfi_next_incarnation(&ns->t, s); /* handles on it re-resolve */
        MMF_CRASH_POINT("delete.claimed");
        uint64_t g = publish(ns, idx, &img, 0, &v, pos, MMF_ENTRY_TOMB);
        MMF_CRASH_POINT("delete.published");
        mmfi_release(s);
        mmf__wake_slot(s);
        /* a re-created key's versions continue above this one */
        if (load_relaxed(&hd->gen_floor) < g) store_relaxed(&hd->gen_floor, g);
        free_blocks(ns, blocks, orders, n);
        MMF_CRASH_POINT("delete.blocks_freed");
        mmf__slot_free(ns, idx);
        MMF_CRASH_POINT("delete.before_trim");
        uint64_t trimmed = mmfi_trim_tombstones(&v, pos);
        store_relaxed(&hd->vars, load_relaxed(&hd->vars) - 1);
        store_relaxed(&hd->tombstones, load_relaxed(&hd->tombstones) + 1 - trimmed);
        structure_changed(ns);
    }
    mmf__mutex_unlock(ns);
    return rc;
}
