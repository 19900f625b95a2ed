/*
 * Waiting for a slot's claim word, and what to do about a writer that died
 * holding one: the one place where a claim is taken over.
 *
 * A claim is held for one short write. A claimer or reader that finds it
 * taken spins, then yields; only past a bound does it ask whether the holder
 * still lives (registry.c: the kernel's lock on the holder's registration,
 * never a guess from pids).
 *
 * Dead in-place writer: its vstate is whole (one release store), so the
 * first process that finds it takes the claim over with a CAS (only one can),
 * ends the odd gen and wakes the slot's waiters. A reader on a read-write
 * handle does this too, so that a key a dead writer left does not make every
 * later read pay the stall; a reader on a read-only handle writes nothing and
 * reads through (the value vstate names is whole). Dead structural writer
 * (bit MMF_OWNER_STRUCT): it held the namespace mutex, whose recovery
 * completes the change from the intent record; claimers and read-write
 * readers trigger that recovery with a trylock and otherwise wait.
 *
 * An odd gen with no owner is no write at all (a writer ends gen before it
 * releases its claim; a damaged image can hold one): past a bound a
 * read-write handle claims the slot, ends the gen and releases; a read-only
 * one reads through.
 */
#include "internal.h"

#define LIVENESS_FIRST_NS 200000u   /* a claim is held for one short write */
#define LIVENESS_PERIOD_NS 1000000u /* then look once a millisecond */
#define STALLS_BEFORE_ORPHAN 64u

void mmf__wake_slot_sleepers(struct mmf_slot *s) {
    /* the exchange clears the flag for the sleepers it wakes, so a waiter
       that died asleep costs one wake-up, not one per write */
    if (exchange32_acquire(&s->waiters, 0)) mmf__futex_wake_all((mmf_a32 *)&s->gen);
}

void mmf__wake_struct(mmf *ns) {
    struct mmf_header *h = ns->hdr;
    if (load32_seq_cst(&h->struct_waiters) && exchange32_acquire(&h->struct_waiters, 0))
        mmf__futex_wake_all(&h->struct_seq);
}

void mmf__finish_dead_write(struct mmf_slot *s) {
    if (mmfi_end_dead_write(s)) mmf__wake_slot(s);
}

int mmf__take_over(mmf *ns, struct mmf_slot *s, uint64_t dead, uint64_t token) {
    if (!cas_acquire(&s->owner, &dead, token)) return 0; /* someone else did */
    fetch_add_relaxed(&ns->hdr->claim_takeovers, 1);
    MMF_DEBUG(ns, "took over slot %llu from a dead writer (registration %u)",
              (unsigned long long)(s - ns->t.slots), TOKEN_REG(dead) - 1u);
    mmf__finish_dead_write(s);
    return 1;
}

/* A reader's repairs on a read-write handle: the slot ends even and free. */
static void repair_for_reader(mmf *ns, struct mmf_slot *s, uint64_t owner) {
    uint64_t me;
    if (mmf__me(ns, &me)) return;
    if (owner & MMF_OWNER_STRUCT) {
        mmf__recover_try(ns);
    } else if (owner ? mmf__take_over(ns, s, owner, me) : mmfi_claim(s, me, &owner)) {
        if (!owner) mmf__finish_dead_write(s); /* the orphan odd gen, if still there */
        mmfi_release(s);
    }
}

bool mmf__liveness_due(uint64_t *next_ns) {
    uint64_t now = mmf__now_ns();
    if (!*next_ns) *next_ns = now + LIVENESS_FIRST_NS;
    if (now < *next_ns) return false;
    *next_ns = now + LIVENESS_PERIOD_NS;
    return true;
}

int mmf__claim_wait(mmf *ns, struct mmf_slot *s, uint64_t token) {
    uint64_t seen = 0, next_check = 0;
    mmf_deadline dl, *d = &dl;
    mmf__deadline_in(&dl, ns->timeout);
    for (uint64_t round = 0;; round++) {
        if (mmfi_claim(s, token, &seen)) return MMF_OK;
        /* by time, not by rounds: under load a round can take a time slice */
        if (round % 16 == 0 && mmf__liveness_due(&next_check) && !mmf__alive(ns, seen)) {
            /* a dead structural writer's claim is recovery's, unless we hold
               the mutex ourselves (a structural claimer does): recovery ran
               when we took it, so what is left is damage, ours to clear */
            if ((seen & MMF_OWNER_STRUCT) && !(token & MMF_OWNER_STRUCT))
                mmf__recover_try(ns);
            else if (mmf__take_over(ns, s, seen, token))
                return MMF_OK;
        }
        if (mmf__deadline_passed(d)) return MMF_ETIMEDOUT;
        mmf__backoff(round);
    }
}

static int stall_busy(struct mmf_read_ctx *c, struct mmf_slot *s) {
    c->busy = s;
    c->err = MMF_OK;
    return MMFI_ESTALL;
}

int mmf__read_stall(void *vctx, struct mmf_slot *s, uint64_t spins) {
    struct mmf_read_ctx *c = vctx;
    mmf *ns = c->ns;
    if (!c->started_ns) c->started_ns = mmf__now_ns();
    if (spins % 16 == 0) {
        /* acquire: the odd gen the caller saw was stored (release) after its
           writer's claim, so this is that claim or a later word */
        uint64_t owner = load_acquire(&s->owner);
        if (owner == 0 && spins >= STALLS_BEFORE_ORPHAN) {
            if (ns->readonly) return MMFI_STALL_READ_THROUGH;
            repair_for_reader(ns, s, 0);
        } else if (owner && !mmf__alive(ns, owner)) {
            if (!ns->readonly)
                repair_for_reader(ns, s, owner);
            else if (!(owner & MMF_OWNER_STRUCT))
                return MMFI_STALL_READ_THROUGH;
            /* a read-only reader cannot repair a dead structural change: it
               waits for a read-write process to (any write or lock does) */
            else if (c->waiting)
                return stall_busy(c, s);
        } else if (owner && c->waiting) {
            return stall_busy(c, s); /* a live writer: the waiter sleeps until it ends */
        }
    }
    double waited = (double)(mmf__now_ns() - c->started_ns) / 1e9;
    if (ns->timeout > 0 && waited > ns->timeout) {
        c->err = MMF_ETIMEDOUT;
        return MMFI_ESTALL;
    }
    mmf__backoff(spins + 64);
    return MMFI_STALL_WAIT;
}
