/*
 * mmf_wait: sleep on a futex until a variable's version changes.
 *
 * A present variable: sleep on the low 32 bits of its slot's gen, which
 * every write to the slot changes (update, delete, reuse). A missing one:
 * sleep on the header's struct_seq, which every insert and delete changes.
 * Lost wake-ups are ruled out by a Dekker pair in seq_cst:
 *     waiter: waiters++ ; load word ; futex_wait(word, seen)
 *     writer: store word ; load waiters ; wake if any
 * Either the writer sees the waiter and wakes it, or the waiter's load (or
 * the kernel's compare in futex_wait) sees the new word. Each wake-up looks
 * the variable up again, so a wake for another key just sleeps again.
 */
#include "internal.h"

int mmf_wait(mmf *ns, const char *key, uint64_t version, double timeout) {
    size_t klen;
    if (!ns || mmf__check_key(key, &klen) || !(timeout >= 0)) return MMF_EINVAL;
    struct mmfi_key k;
    mmfi_key_init(&k, key, klen);
    mmf_deadline d;
    mmf__deadline_in(&d, timeout);
    struct mmf_header *hd = ns->hdr;
    for (;;) {
        MMF_READ_STALL(st, ns);
        mmfi_hit hit;
        /* seen before the lookup: an insert after it changes it */
        uint32_t seq = load32_seq_cst(&hd->struct_seq);
        int rc = mmfi_get(&ns->t, &k, NULL, 0, &hit, &st);
        if (rc == MMFI_ESTALL) return st_ctx.err;
        if (rc < 0) return MMF_ECORRUPT;
        uint64_t now = rc == MMFI_MISSING ? 0 : hit.version;
        if (now != version) return MMF_OK;
        if (rc == MMFI_MISSING) {
            fetch_add32_seq_cst(&hd->struct_waiters, 1);
            if (load32_seq_cst(&hd->struct_seq) == seq) rc = mmf__futex_wait(&hd->struct_seq, seq, &d);
            else rc = 0;
            fetch_sub32_seq_cst(&hd->struct_waiters, 1);
        } else {
            struct mmf_slot *s = &ns->t.slots[hit.slot];
            fetch_add32_seq_cst(&s->waiters, 1);
            uint64_t g = load_seq_cst(&s->gen);
            if (g == hit.version) rc = mmf__futex_wait((mmf_a32 *)&s->gen, (uint32_t)g, &d);
            else rc = 0;
            fetch_sub32_seq_cst(&s->waiters, 1);
        }
        if (rc == MMF_ETIMEDOUT) return MMF_ETIMEDOUT;
        if (mmf__deadline_passed(&d)) {
            /* one last look: a change that raced the timeout counts */
            rc = mmfi_get(&ns->t, &k, NULL, 0, &hit, &st);
            uint64_t last = rc == MMFI_FOUND || rc == MMFI_SMALL ? hit.version : 0;
            return last != version ? MMF_OK : MMF_ETIMEDOUT;
        }
    }
}
