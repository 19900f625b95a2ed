/*
 * The namespace mutex and the explicit lock.
 *
 * The mutex is process-shared, robust and recursive. Robust: a holder that
 * dies hands the next locker EOWNERDEAD, which repairs the namespace
 * (recover.c) before pthread_mutex_consistent. Recursive: a thread that holds
 * the explicit lock (mmf_lock) runs structural writes under it unchanged.
 * Every acquisition is counted in lock_acquisitions.
 *
 * Explicit lock: mmf_lock takes the mutex and sets the lock word (the
 * holder's process token and thread). In-place writers take no mutex, so
 * they honour the lock word instead:
 *     writer: CAS claim (seq_cst)   ; load lock word (seq_cst)
 *     locker: store lock word (seq_cst) ; load every claim (seq_cst)
 * In the single seq_cst order one of the two loads comes after the other
 * side's store: either the writer sees the lock and backs off (releasing its
 * claim and waiting for the mutex, timeout applies), or the locker sees the
 * claim and waits for that one write to finish before mmf_lock returns.
 */
#include <errno.h>
#include <time.h>

#include "internal.h"
#include "../common/crash.h"

int mmf__mutex_init(pthread_mutex_t *m) {
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (!rc) rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (!rc) rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (!rc) rc = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    if (!rc) rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return rc ? mmf__errno_code(rc) : MMF_OK;
}

bool mmf__mutex_kind_ok(const pthread_mutex_t *m) {
#ifdef __GLIBC__
    /* glibc keeps the kind in a field of its own, and no interface reads
       it; but a mutex of another kind must be refused: a robust
       priority-inheritance one whose word names a thread that does not
       exist makes glibc's lock abort the process (its assert on ESRCH) */
    pthread_mutex_t ref;
    if (mmf__mutex_init(&ref)) return false;
    bool same = ref.__data.__kind == m->__data.__kind;
    pthread_mutex_destroy(&ref);
    return same;
#else
    (void)m;
    return true;
#endif
}

__attribute__((cold)) static int after_owner_died(mmf *ns) {
    struct mmf_header *h = ns->hdr;
    store_relaxed(&h->lock_thread, 0);
    store_release(&h->lock_owner, 0); /* the dead holder's explicit lock */
    h->lock_depth = 0;
    int rc = mmf__recover(ns);
    pthread_mutex_consistent(&ns->hdr->mutex);
    fetch_add_relaxed(&ns->hdr->lock_recoveries, 1); /* under the mutex */
    MMF_DEBUG(ns, "recovered the namespace mutex from a dead holder%s",
              rc ? " (the namespace failed its checks)" : "");
    return rc;
}

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MMF_TSAN 1
#endif
#endif

static int timed_lock(pthread_mutex_t *m, const mmf_deadline *d) {
#ifdef MMF_TSAN
    /* ThreadSanitizer does not intercept pthread_mutex_clocklock (it would
       see every unlock as unmatched): use the realtime clock under it only */
    int64_t mono = (int64_t)mmf__now_ns(), real = (int64_t)mmf__wall_ns();
    int64_t left = (int64_t)d->at.tv_sec * 1000000000 + d->at.tv_nsec - mono;
    int64_t at = real + (left > 0 ? left : 0);
    struct timespec abs = {(time_t)(at / 1000000000), (long)(at % 1000000000)};
    return pthread_mutex_timedlock(m, &abs);
#else
    return pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &d->at);
#endif
}

int mmf__mutex_lock(mmf *ns, const mmf_deadline *d) {
    int rc = d->forever ? pthread_mutex_lock(&ns->hdr->mutex) : timed_lock(&ns->hdr->mutex, d);
    if (rc == ETIMEDOUT) return MMF_ETIMEDOUT;
    if (rc == EOWNERDEAD) {
        int r = after_owner_died(ns);
        if (r) {
            pthread_mutex_unlock(&ns->hdr->mutex);
            return r;
        }
    } else if (rc == ENOTRECOVERABLE) {
        return MMF_ECORRUPT;
    } else if (rc) {
        return rc == EINVAL ? MMF_ECORRUPT : mmf__errno_code(rc);
    } else if ((rc = mmf__sync(ns))) { /* what other processes grew meanwhile */
        pthread_mutex_unlock(&ns->hdr->mutex);
        return rc;
    }
    fetch_add_relaxed(&ns->hdr->lock_acquisitions, 1); /* under the mutex */
    return MMF_OK;
}

int mmf__mutex_lock_timed(mmf *ns) {
    mmf_deadline d;
    mmf__deadline_in(&d, ns->timeout);
    return mmf__mutex_lock(ns, &d);
}

void mmf__mutex_unlock(mmf *ns) {
    pthread_mutex_unlock(&ns->hdr->mutex);
}

void mmf__recover_try(mmf *ns) {
    int rc = pthread_mutex_trylock(&ns->hdr->mutex);
    if (rc == EOWNERDEAD) {
        after_owner_died(ns);
    } else if (rc == 0) {
        /* a dead structural claim under a free mutex: someone recovered the
           mutex without finishing (or the image is damaged); repair again */
        mmf__recover(ns);
    } else {
        return; /* busy: its holder will repair, or we look again later */
    }
    pthread_mutex_unlock(&ns->hdr->mutex);
}

/* Waits until no slot is claimed by anyone but a dead writer, whose claim it
   ends. Called with the mutex held and the lock word set. */
static int wait_for_claims(mmf *ns, uint64_t me, const mmf_deadline *d) {
    uint64_t used = load_relaxed(&ns->hdr->slots_used); /* mutex held */
    uint64_t nslots = load_relaxed(&ns->t.nslots);      /* mutex held, synced */
    for (uint64_t i = 0; i < used && i < nslots; i++) {
        struct mmf_slot *s = &ns->t.slots[i];
        uint64_t next_check = 0;
        for (uint64_t round = 0;; round++) {
            uint64_t o = load_seq_cst(&s->owner); /* see the file comment */
            if (o == 0) break;
            /* we hold the mutex, so a structural claim is a dead one too */
            if (round % 16 == 0 && mmf__liveness_due(&next_check) &&
                ((o & MMF_OWNER_STRUCT) || !mmf__alive(ns, o))) {
                if (mmf__take_over(ns, s, o, me)) mmfi_release(s);
                continue;
            }
            if (mmf__deadline_passed(d)) return MMF_ETIMEDOUT;
            mmf__backoff(round);
        }
    }
    return MMF_OK;
}

int mmf_lock(mmf *ns, double timeout) {
    if (!ns || !(timeout >= 0)) return MMF_EINVAL;
    uint64_t me;
    int rc = mmf__me(ns, &me); /* MMF_EPERM for a read-only handle */
    if (rc) return rc;
    mmf_deadline d;
    mmf__deadline_in(&d, timeout);
    rc = mmf__mutex_lock(ns, &d);
    if (rc) return rc;
    struct mmf_header *h = ns->hdr;
    if (mmf__holds_lock(ns)) {
        h->lock_depth++;
        return MMF_OK;
    }
    store_relaxed(&h->lock_thread, (uint64_t)pthread_self()); /* published by the next store */
    store_seq_cst(&h->lock_owner, me);
    h->lock_depth = 1;
    MMF_CRASH_POINT("lock.held");
    rc = wait_for_claims(ns, me, &d);
    if (rc) {
        store_seq_cst(&h->lock_owner, 0);
        store_relaxed(&h->lock_thread, 0);
        h->lock_depth = 0;
        mmf__mutex_unlock(ns);
    }
    return rc;
}

int mmf_unlock(mmf *ns) {
    if (!ns) return MMF_EINVAL;
    if (!mmf__holds_lock(ns)) return MMF_ENOLOCK;
    struct mmf_header *h = ns->hdr;
    if (--h->lock_depth == 0) {
        store_relaxed(&h->lock_thread, 0);
        /* release: the holder's writes are visible to in-place writers that
           see the lock free */
        store_release(&h->lock_owner, 0);
    }
    mmf__mutex_unlock(ns);
    return MMF_OK;
}
