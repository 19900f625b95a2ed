/*
 * Waiting for a slot's claim word, and what to do about a writer that died
 * holding one.
 *
 * A claim is held for one short write. A claimer that finds it taken spins,
 * then yields; only past a bound does it ask whether the holder still lives
 * (kill(pid, 0) and the start time, so a reused pid does not pass for it).
 *
 * Dead in-place writer: its vstate is whole (one release store), so whoever
 * finds it takes the claim over with a CAS (only one can), ends the odd gen
 * and goes on. Dead structural writer (bit MMF_OWNER_STRUCT): it held the
 * namespace mutex, whose recovery completes the change from the intent
 * record; claimers and readers trigger that recovery with a trylock and
 * otherwise wait.
 */
#include "internal.h"
#include "../index/seq.h"

#define SPINS_BEFORE_LIVENESS 2048u

void mmf__wake_slot(struct mmf_slot *s) {
    /* seq_cst: after seq_write_end's seq_cst store (Dekker with mmf_wait) */
    if (load32_seq_cst(&s->waiters)) mmf__futex_wake_all((mmf_a32 *)&s->gen);
}

void mmf__wake_struct(mmf *ns) {
    if (load32_seq_cst(&ns->hdr->struct_waiters)) mmf__futex_wake_all(&ns->hdr->struct_seq);
}

void mmf__finish_dead_write(struct mmf_slot *s) {
    /* acquire: pairs with the dead writer's release store of vstate, so the
       value it names is whole before anyone uses it */
    (void)load_acquire(&s->vstate);
    uint64_t g = load_relaxed(&s->gen); /* claim held */
    if (g & 1) {
        seq_write_end(&s->gen, g);
        mmf__wake_slot(s);
    }
}

int mmf__claim(mmf *ns, struct mmf_slot *s, uint64_t token) {
    uint64_t seen = 0;
    if (mmfi_claim(s, token, &seen)) return MMF_OK; /* the usual case: no clock read */
    mmf_deadline dl, *d = &dl;
    mmf__deadline_in(&dl, ns->timeout);
    for (uint64_t round = 0;; round++) {
        if (mmfi_claim(s, token, &seen)) return MMF_OK;
        if (round >= SPINS_BEFORE_LIVENESS && round % 64 == 0 && !mmf__token_alive(seen)) {
            if (seen & MMF_OWNER_STRUCT) {
                mmf__recover_try(ns);
            } else if (cas_acquire(&s->owner, &seen, token)) {
                MMF_DEBUG(ns, "took over a slot claimed by dead process %d", OWNER_PID(seen));
                mmf__finish_dead_write(s);
                return MMF_OK;
            }
        }
        if (mmf__deadline_passed(d)) return MMF_ETIMEDOUT;
        mmf__backoff(round);
    }
}

int mmf__read_stall(void *vctx, struct mmf_slot *s, uint64_t spins) {
    struct mmf_read_ctx *c = vctx;
    if (!c->started_ns) c->started_ns = mmf__now_ns();
    uint64_t owner = load_relaxed(&s->owner); /* a hint; the caller re-checks gen */
    if (owner == 0) return MMFI_STALL_READ_THROUGH; /* the write ended, or a damaged image */
    if (spins % 16 == 0 && !mmf__token_alive(owner)) {
        if (!(owner & MMF_OWNER_STRUCT)) return MMFI_STALL_READ_THROUGH;
        mmf__recover_try(c->ns);
    }
    double waited = (double)(mmf__now_ns() - c->started_ns) / 1e9;
    if (c->ns->timeout > 0 && waited > c->ns->timeout) {
        c->err = MMF_ETIMEDOUT;
        return MMFI_ESTALL;
    }
    mmf__backoff(spins + 64);
    return MMFI_STALL_WAIT;
}
