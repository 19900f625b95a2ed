/*
 * Variable handles (mmf_var): a key resolved once.
 *
 * A handle keeps its key prepared (hash and words) and one word of
 * process-private cache: the incarnation word of the slot its key was last
 * found in (common/layout.h: a reuse count over the slot's index + 1), or 0
 * for "not resolved". A slot's incarnation changes, inside a structural
 * write of the slot, whenever the slot is freed or taken by a new variable;
 * so while the slot shows the word the handle remembers, it holds the
 * handle's variable, and a read of it under its generation counter is
 * exactly the read a by-name lookup would make. Each access is therefore one
 * slot read: gen, incarnation, vstate, the value, gen again. On a mismatch
 * (deleted, re-created, moved) or while the key is missing, the handle looks
 * the key up by name (a probe, no hashing) and caches what it found.
 *
 * The word also says which slot: a handle caches a word only after checking
 * that it names the slot it was read from (a damaged slot cannot send a
 * handle to another one). The reuse count has 40 bits: a handle could be
 * fooled only if its slot were freed and reused a multiple of 2^40 times
 * (each a structural write under the mutex: weeks of doing nothing else)
 * between two of its accesses.
 *
 * Threads may share a handle: the cache is one 64-bit word, loaded and
 * stored whole (relaxed: it publishes nothing but itself, and any value it
 * ever held names a slot and incarnation that once held the key, which is
 * all a reader relies on). Two threads that re-resolve at once store in
 * either order; a stale word costs one more lookup, never a wrong answer.
 *
 * Writes take the in-place path on the cached slot (claim, lock word,
 * incarnation re-checked under the claim, spare buffer), and otherwise the
 * by-name structural path of ops.c with the prepared key. mmf_var_wait
 * (wait.c) spins on the slot's gen word through these reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "../index/fast.h"

/* vstate's order and length bits, and their values for a full inline buffer */
#define VAR_VS_MASK (0xffull << 48 | 0xffffffffull)
#define VAR_VS_FULL ((uint64_t)MMF_ORDER_INLINE << 48 | MMF_VALUE_INLINE)
_Static_assert(VS_ORDER(VAR_VS_FULL) == MMF_ORDER_INLINE &&
                   VS_LEN(VAR_VS_FULL) == MMF_VALUE_INLINE && VS_ORDER(VAR_VS_MASK) == 0xff &&
                   VS_LEN(VAR_VS_MASK) == 0xffffffffu,
               "VAR_VS_*: vstate's order and length fields");

struct mmf_var {
    mmf_a64 cache;       /* an incarnation word (MMF_INC_MAKE), or 0 */
    uintptr_t slot_base; /* address of slot -1: slot_base + (inc & slot bits) * size */
    /* VAR_VS_MASK and VAR_VS_FULL (below), kept here so that the hot path
       tests them from memory: no 64-bit immediates, no register to spare */
    uint64_t vs_mask, vs_full;
    mmf *ns;
    struct mmfi_key k; /* k.bytes points at key below */
    char key[MMF_KEY_LIMIT + 1];
};

int mmf_var_open(mmf *ns, const char *key, mmf_var **out) {
    if (out) *out = NULL;
    struct mmfi_key k;
    if (!ns || !out || mmf__key_prepare(&k, key)) return MMF_EINVAL;
    mmf_var *v = malloc(sizeof *v);
    if (!v) return MMF_ENOMEM;
    v->ns = ns;
    v->slot_base = (uintptr_t)ns->t.slots - sizeof(struct mmf_slot);
    v->vs_mask = VAR_VS_MASK;
    v->vs_full = VAR_VS_FULL;
    memcpy(v->key, key, k.len + 1);
    mmfi_key_init(&v->k, v->key, k.len);
    store_relaxed(&v->cache, 0);
    /* resolves, so that the first access finds it; a writer mid-write (the
       waiter's stall gives up at once rather than wait for it) or a missing
       key leaves it unresolved, for the first access to do */
    struct mmf_read_ctx ctx = mmf__read_ctx(ns);
    ctx.waiting = true;
    mmfi_stall st = mmf__read_stall_on(&ctx);
    mmfi_hit hit;
    (void)mmf__var_read(v, NULL, 0, &hit, &st);
    *out = v;
    return MMF_OK;
}

void mmf_var_close(mmf_var *var) {
    free(var);
}

/* Reads the variable: the cached slot if it still holds it, else by name
   (then caching what was found). As mmfi_get; st handles stalls. */
int mmf__var_read(mmf_var *var, void *buf, size_t cap, mmfi_hit *hit, const mmfi_stall *st) {
    struct mmfi_table *t = &var->ns->t;
    uint64_t c = load_relaxed(&var->cache); /* private to the process; see the top */
    if (c) {
        int rc = mmfi_get_at(t, c, buf, cap, hit, st);
        if (rc != MMFI_OTHER) return rc;
    }
    int rc = mmfi_get(t, &var->k, buf, cap, hit, st);
    uint64_t inc = hit->incarnation;
    if ((rc == MMFI_FOUND || rc == MMFI_SMALL) && inc && MMF_INC_SLOT(inc) == hit->slot)
        store_relaxed(&var->cache, inc);
    else
        store_relaxed(&var->cache, 0); /* missing, or a word that names another slot */
    return rc;
}

__attribute__((noinline)) static int var_get_slow(mmf_var *var, void *buf, size_t cap, size_t *len,
                                                  uint64_t *version) {
    struct mmf_read_ctx ctx = mmf__read_ctx(var->ns);
    mmfi_stall st = mmf__read_stall_on(&ctx);
    mmfi_hit hit;
    int rc = mmf__var_read(var, buf, cap, &hit, &st);
    return mmf__get_result(rc, &hit, &ctx, len, version, NULL);
}

/* The slot the cache word c names: checked against nslots before it was
   cached. c's slot bits times the slot size is c shifted by 8 and cut to
   32 bits: one shift, no mask. */
_Static_assert(MMF_SLOT_BITS + 8 == 32 && sizeof(struct mmf_slot) == 1u << 8,
               "cached_slot: slot bits << 8 fill exactly 32 bits");
MMF_INLINE struct mmf_slot *cached_slot(const mmf_var *var, uint64_t c) {
    return (struct mmf_slot *)(var->slot_base + (uint32_t)(c << 8));
}

/* The fast read for any inline value (fast.h), then the whole protocol. */
__attribute__((noinline)) static int var_get_any(mmf_var *var, void *buf, size_t cap, size_t *len,
                                                 uint64_t *version) {
    uint64_t c = load_relaxed(&var->cache); /* private to the process; see the top */
    mmfi_hit hit;
    if (c && mmfi_read_fast_at(cached_slot(var, c), c, buf, cap, &hit) == MMFI_FOUND) {
        *len = hit.len;
        if (version) *version = hit.version;
        return MMF_OK;
    }
    return var_get_slow(var, buf, cap, len, version);
}

/* The hot path: a full 64-byte inline value, straight through with nothing
   to save (every other case is a tail call away). The same loads, checks
   and orders as fast.h's mmfi_read_fast_at. */
int mmf_var_get(mmf_var *var, void *buf, size_t cap, size_t *len, uint64_t *version) {
    if (__builtin_expect(!var || !len, 0)) return MMF_EINVAL;
    if (__builtin_expect(!buf, 0) && cap) return MMF_EINVAL;
    if (__builtin_expect(cap < MMF_VALUE_INLINE, 0)) goto any;
    uint64_t c = load_relaxed(&var->cache); /* private to the process; see the top */
    if (__builtin_expect(c == 0, 0)) goto any;
    struct mmf_slot *s = cached_slot(var, c);
    uint64_t g = mmfi_fast_begin(&s->gen); /* low bit cleared: see fast.h */
    /* relaxed: validated by the gen re-check */
    if (__builtin_expect(load_relaxed(&s->incarnation) != c, 0)) goto any;
    uint64_t vs = load_relaxed(&s->vstate);
    /* order and length in one test: an inline value of exactly 64 bytes */
    if (__builtin_expect((vs & var->vs_mask) != var->vs_full, 0)) goto any;
    words_load_64(buf, (const mmf_a64 *)((char *)s->ival + ((vs >> 26) & 64)));
    if (__builtin_expect(seq_read_retry(&s->gen, g), 0)) goto any; /* and gen was even */
    *len = MMF_VALUE_INLINE;
    if (version) *version = g;
    return MMF_OK;
any:
    return var_get_any(var, buf, cap, len, version);
}

/* A write through the handle: in place on the cached slot (resolved first
   if need be), else the by-name structural path. */
static int var_write(mmf_var *var, struct mmf__write_op *op) {
    if (!var) return MMF_EINVAL;
    mmf *ns = var->ns;
    uint64_t me;
    int rc = mmf__write_begin(ns, op, &me);
    if (rc) return rc;
    uint64_t c = load_relaxed(&var->cache); /* private to the process; see the top */
    if (!c) {
        struct mmf_read_ctx ctx = mmf__read_ctx(ns);
        mmfi_stall st = mmf__read_stall_on(&ctx);
        mmfi_hit hit;
        rc = mmf__var_read(var, NULL, 0, &hit, &st);
        if (rc == MMFI_ESTALL) return ctx.err;
        if (rc < 0) return MMF_ECORRUPT;
        c = load_relaxed(&var->cache);
    }
    if (c) {
        rc = mmf__write_slot(ns, me, MMF_INC_SLOT(c), NULL, c, op);
        if (rc != MMF__FALLBACK) return rc;
    }
    /* a new variable is resolved by the next access; a new value in new
       blocks keeps its slot and incarnation, so the cache stays right */
    return mmf__write_locked(ns, me, &var->k, op);
}

int mmf_var_set(mmf_var *var, const void *val, size_t len) {
    struct mmf__write_op op = {.kind = OP_SET, .val = val, .len = len};
    return var_write(var, &op);
}

int mmf_var_cas(mmf_var *var, uint64_t expected_version, const void *val, size_t len) {
    struct mmf__write_op op = {
        .kind = OP_CAS, .val = val, .len = len, .expected = expected_version};
    return var_write(var, &op);
}

int mmf_var_add_i64(mmf_var *var, int64_t delta, int64_t *result) {
    struct mmf__write_op op = {.kind = OP_ADD, .delta = delta};
    int rc = var_write(var, &op);
    if (!rc && result) *result = op.sum;
    return rc;
}

mmf *mmf__var_ns(const mmf_var *var) {
    return var->ns;
}
