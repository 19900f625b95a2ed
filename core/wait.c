/*
 * mmf_wait: until a variable's version differs from the caller's.
 *
 * First it spins for up to the handle's `spin` seconds (a waiter that must
 * react within a microsecond pays a core for it), watching one word: the
 * slot's gen, or the header's struct_seq while the variable is missing; a
 * change sends it to look again. Then it sleeps on a futex. mmf_var_wait
 * does the same through a handle (its lookups are the handle's reads).
 * A present variable: sleep on the low 32 bits of its slot's gen, which
 * every write to the slot changes (update, delete, reuse, and the repair of
 * a dead writer's). A missing one: sleep on the header's struct_seq, which
 * every insert and delete changes. Lost wake-ups are ruled out by a Dekker
 * pair in seq_cst:
 *     waiter: waiters := 1 ; load word ; futex_wait(word, seen)
 *     writer: store word   ; load waiters ; if set: clear it, wake all
 * Either the writer sees the flag and wakes, or the waiter's load (or the
 * kernel's compare in futex_wait) sees the new word.
 *
 * A writer can die after its value became readable and before it woke
 * anyone; nobody may be left to wake the waiter then. So a sleep lasts at
 * most SLICE, after which the waiter looks again: its lookup finds the new
 * version, or meets the dead writer's slot and repairs it (claim.c), which
 * ends the gen. Looking is a few hundred nanoseconds five times a second.
 *
 * A read-only handle cannot raise the waiters flag (it never writes), so no
 * writer wakes it: it polls, with sleeps that grow to READONLY_POLL_MAX. A
 * read through a dead writer's slot reports the version repair will give
 * (gen + 1) while gen stays odd: the wait then sleeps on the odd gen itself.
 * A lookup that meets a live writer mid-write (or one stopped there) does not
 * stall as a get would: it sleeps on that odd gen, which the writer's end
 * changes, so the wait's own timeout holds and no CPU is spent.
 */
#include "internal.h"

#define SLICE 0.2
#define READONLY_POLL_FIRST 50e-6
#define READONLY_POLL_MAX 5e-3

/* The sooner of d and seconds from now. */
static void slice_of(const mmf_deadline *d, double seconds, mmf_deadline *out) {
    mmf__deadline_in(out, seconds);
    if (!d->forever && (d->at.tv_sec < out->at.tv_sec ||
                        (d->at.tv_sec == out->at.tv_sec && d->at.tv_nsec < out->at.tv_nsec)))
        *out = *d;
}

/* The variable's state, as one lookup sees it. */
typedef int (*wait_lookup)(void *ctx, mmfi_hit *hit, const mmfi_stall *st);

/* Spins (relaxed loads and pause) while *word is seen, until the deadline;
   looks at the clock every 256 rounds. A change only sends the caller to
   look again: the lookup does its own ordering. */
static void spin_while64(const mmf_a64 *word, uint64_t seen, const mmf_deadline *until) {
    for (unsigned i = 1; load_relaxed(word) == seen; i++) {
        cpu_relax();
        if (i % 256 == 0 && mmf__deadline_passed(until)) return;
    }
}
static void spin_while32(const mmf_a32 *word, uint32_t seen, const mmf_deadline *until) {
    for (unsigned i = 1; load32_relaxed(word) == seen; i++) {
        cpu_relax();
        if (i % 256 == 0 && mmf__deadline_passed(until)) return;
    }
}

static int wait_for(mmf *ns, wait_lookup look, void *ctx, uint64_t version, double timeout) {
    mmf_deadline d, spin;
    mmf__deadline_in(&d, timeout);
    bool spinning = ns->spin > 0;
    if (spinning) {
        mmf__deadline_in(&spin, ns->spin);
        slice_of(&d, ns->spin, &spin); /* the sooner of the two */
    }
    double poll = READONLY_POLL_FIRST;
    struct mmf_header *hd = ns->hdr;
    for (;;) {
        struct mmf_read_ctx read_ctx = mmf__read_ctx(ns);
        read_ctx.waiting = true;
        mmfi_stall st = mmf__read_stall_on(&read_ctx);
        mmfi_hit hit;
        /* seen before the lookup: an insert after it changes it */
        uint32_t seq = load32_seq_cst(&hd->struct_seq);
        int rc = look(ctx, &hit, &st);
        if (rc == MMFI_ESTALL && !read_ctx.busy) return read_ctx.err;
        if (rc < 0 && rc != MMFI_ESTALL) return MMF_ECORRUPT;
        if (rc != MMFI_ESTALL && (rc == MMFI_MISSING ? 0 : hit.version) != version) return MMF_OK;
        if (mmf__deadline_passed(&d)) return MMF_ETIMEDOUT;
        mmf_a32 *word, *flag;
        uint32_t seen;
        if (rc == MMFI_ESTALL) { /* a live writer is mid-write: sleep until it ends */
            struct mmf_slot *s = read_ctx.busy;
            uint64_t g = load_seq_cst(&s->gen);
            /* ended meanwhile: g is the new version. Still under way: the
               version before it is g - 1 (in place; a structural write may
               start higher, and then this only wakes early) */
            if ((g & 1) ? g - 1 != version : g != version) return MMF_OK;
            if (spinning && !mmf__deadline_passed(&spin)) {
                spin_while64(&s->gen, g, &spin); /* its end changes gen */
                continue;
            }
            word = (mmf_a32 *)&s->gen;
            flag = &s->waiters;
            seen = (uint32_t)g;
        } else if (rc == MMFI_MISSING) {
            word = &hd->struct_seq;
            flag = &hd->struct_waiters;
            seen = seq;
        } else {
            struct mmf_slot *s = &ns->t.slots[hit.slot];
            uint64_t g = load_seq_cst(&s->gen);
            /* the copy's gen, or the odd gen a read-through reported past */
            if (g != hit.version && !((g & 1) && g + 1 == hit.version)) continue;
            if (spinning && !mmf__deadline_passed(&spin)) {
                /* one word: every write, delete, re-creation or repair of
                   the slot changes gen (and a new incarnation comes with a
                   structural write of it) */
                spin_while64(&s->gen, g, &spin);
                continue;
            }
            word = (mmf_a32 *)&s->gen;
            flag = &s->waiters;
            seen = (uint32_t)g;
        }
        if (spinning && !mmf__deadline_passed(&spin)) {
            spin_while32(&hd->struct_seq, seq, &spin); /* every insert changes it */
            continue;
        }
        spinning = false;
        mmf_deadline until;
        if (ns->readonly) {
            slice_of(&d, poll, &until);
            poll = poll * 2 < READONLY_POLL_MAX ? poll * 2 : READONLY_POLL_MAX;
        } else {
            slice_of(&d, SLICE, &until);
            store32_seq_cst(flag, 1); /* see the file comment */
        }
        if (load32_seq_cst(word) == seen) mmf__futex_wait(word, seen, &until);
    }
}

struct by_name {
    mmf *ns;
    struct mmfi_key k;
};

static int look_by_name(void *ctx, mmfi_hit *hit, const mmfi_stall *st) {
    struct by_name *b = ctx;
    return mmfi_get(&b->ns->t, &b->k, NULL, 0, hit, st);
}

int mmf_wait(mmf *ns, const char *key, uint64_t version, double timeout) {
    struct by_name b = {.ns = ns};
    if (!ns || mmf__key_prepare(&b.k, key) || !(timeout >= 0)) return MMF_EINVAL;
    return wait_for(ns, look_by_name, &b, version, timeout);
}

static int look_var(void *ctx, mmfi_hit *hit, const mmfi_stall *st) {
    return mmf__var_read(ctx, NULL, 0, hit, st);
}

int mmf_var_wait(mmf_var *var, uint64_t version, double timeout) {
    if (!var || !(timeout >= 0)) return MMF_EINVAL;
    return wait_for(mmf__var_ns(var), look_var, var, version, timeout);
}
