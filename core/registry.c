/*
 * Registrations: who is attached, and whether the writer behind a claim word
 * still lives.
 *
 * A read-write handle registers once per process: it takes an
 * open-file-description lock on byte MMF_REG_LOCK_BASE + i of the namespace
 * file (the first i whose lock is free), bumps entry i's incarnation, and
 * uses TOKEN_MAKE(i, incarnation) as its token in every claim word. The
 * kernel releases the lock when the last descriptor of that open file
 * description closes: at mmf_close, or when the process dies (before it is a
 * zombie, whatever PID namespace it lives in). So a token's writer is dead
 * exactly when the entry's incarnation moved on or nobody holds its byte.
 * LMDB keeps its reader table the same way, with process-owned locks; OFD
 * locks are what makes two handles in one process, and threads, safe.
 *
 * Nothing here can call a live process dead: a live registrant holds its
 * lock, and its incarnation moves only once it has released it. The only
 * errors go the other way, and only with a forked child that inherited the
 * descriptor and never used the handle: its copy keeps the parent's lock.
 * Such a registration is then judged from the pid it recorded, and only
 * where that pid means something (our PID namespace): a pid that is free, or
 * that belongs to a process started at another time, is dead.
 *
 * The registration lock is taken through a descriptor of its own, never the
 * one the namespace was mapped through: a mapping holds its open file
 * description, so a forked child that inherits the mapping would keep the
 * lock (and its parent "alive") for as long as the child lives.
 *
 * A forked child must not keep speaking with its parent's token: the page
 * that holds the token is MADV_WIPEONFORK, so the child sees 0 and registers
 * anew, through a descriptor of its own (reopened from /proc/self/fd) that
 * then replaces the inherited one with dup3, dropping the child's reference
 * to the parent's lock. Where MADV_WIPEONFORK is missing, the recorded pid
 * tells the child from its parent (one getpid per write).
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

static bool current(const mmf *ns, const struct mmf_self *me) {
    return ns->wipes || load32_relaxed(&me->pid) == mmf__pid();
}

int mmf__reopen(int fd, const char *path, uint64_t dev, uint64_t ino, bool rw, int *out) {
    int nfd;
    int rc = mmf__file_reopen(fd, rw, &nfd);
    if (rc) rc = mmf__file_open(path, rw, true, &nfd);
    if (rc) return rc;
    mmf_file_info st;
    if (mmf__file_info(nfd, &st) || st.dev != dev || st.ino != ino) {
        mmf__file_close(nfd); /* the path names another namespace by now */
        errno = ENOENT;
        return MMF_ENOENT;
    }
    *out = nfd;
    return MMF_OK;
}

static int take_entry(int fd, uint32_t *idx) {
    for (uint32_t i = 0; i < MMF_REGS; i++) {
        int rc = mmf__ofd_trylock(fd, MMF_REG_LOCK_BASE + i, true);
        if (rc == 0) {
            *idx = i;
            return MMF_OK;
        }
        if (rc != 1) return rc;
    }
    return MMF_ENOSPC; /* MMF_REGS handles attached */
}

static void record(mmf *ns, uint32_t idx, const mmf_proc_id *id, uint64_t *token) {
    struct mmf_reg *r = &ns->regs[idx];
    /* relaxed: published by the release increment of the incarnation */
    store32_relaxed(&r->pid, id->pid);
    store32_relaxed(&r->start, id->start);
    store32_relaxed(&r->pidns, id->pidns);
    uint32_t inc = fetch_add32_release(&r->incarnation, 1) + 1;
    uint32_t used = load32_relaxed(&ns->hdr->regs_used);
    while (used < idx + 1 && !cas32_relaxed(&ns->hdr->regs_used, &used, idx + 1)) {
    }
    *token = TOKEN_MAKE(idx, inc);
}

/* Registers this process for the handle; the threads of a process that race
   here wait for the one that got the busy flag. */
static int register_slow(mmf *ns, uint64_t *out) {
    struct mmf_self *me = ns->self;
    for (uint64_t round = 0;; round++) {
        uint32_t idle = 0;
        if (cas32_acquire(&me->busy, &idle, 1)) break;
        mmf__backoff(round);
    }
    int rc = MMF_OK;
    uint64_t t = load_acquire(&me->token);
    if (t && current(ns, me)) {
        *out = t;
        goto done;
    }
    int fd = ns->fd;
    /* registered before, in the process we were forked from */
    if (ns->registered && (rc = mmf__reopen(ns->fd, ns->path, ns->dev, ns->ino, true, &fd)))
        goto done;
    uint32_t idx;
    rc = take_entry(fd, &idx);
    if (!rc && fd != ns->fd) rc = mmf__file_dup_onto(fd, ns->fd);
    if (fd != ns->fd) mmf__file_close(fd); /* after dup3 the lock lives on in ns->fd */
    if (rc) goto done;
    mmf_proc_id id;
    mmf__proc_self(&id);
    record(ns, idx, &id, &t);
    me->id = id;
    store32_relaxed(&me->pid, id.pid);
    ns->registered = true; /* only read and written with busy held */
    store_release(&me->token, t);
    *out = t;
done:
    store32_release(&me->busy, 0);
    return rc;
}

int mmf__me_slow(mmf *ns, uint64_t *token) {
    if (ns->readonly) return MMF_EPERM;
    uint64_t t = load_acquire(&ns->self->token); /* pairs with register_slow's release */
    if (t && current(ns, ns->self)) {
        *token = t;
        return MMF_OK;
    }
    return register_slow(ns, token);
}

bool mmf__alive(mmf *ns, uint64_t owner) {
    uint32_t reg = TOKEN_REG(owner);
    if (reg == 0 || reg > MMF_REGS) return false; /* names nobody: a damaged word */
    if (!ns->readonly) {
        uint64_t mine;
        /* also makes ns->fd this process's own description after a fork:
           through an inherited one, the parent's lock would look free */
        if (mmf__me(ns, &mine)) return true; /* cannot tell */
        if (TOKEN_SAME_REG(owner & ~MMF_OWNER_STRUCT, mine)) return true;
    }
    struct mmf_reg *r = &ns->regs[reg - 1];
    /* acquire: pairs with record's release increment */
    if (load32_acquire(&r->incarnation) != TOKEN_INC(owner)) return false;
    int held = mmf__ofd_held(ns->fd, MMF_REG_LOCK_BASE + reg - 1);
    if (held == 0) return false;
    if (held < 0) return true;
    mmf_proc_id who = {load32_relaxed(&r->pid), load32_relaxed(&r->start),
                       load32_relaxed(&r->pidns)};
    fence_acquire(); /* the fields above are read before the incarnation below */
    if (load32_relaxed(&r->incarnation) != TOKEN_INC(owner)) return false;
    /* who we are now: a PID namespace entered since the handle was opened
       changes what a pid means */
    mmf_proc_id me;
    mmf__proc_self(&me);
    return !mmf__proc_gone(&who, &me);
}

bool mmf__holds_lock(mmf *ns) {
    struct mmf_header *h = ns->hdr;
    /* relaxed: only the holder can find its own thread here, and it wrote it */
    uint64_t o = load_relaxed(&h->lock_owner);
    if (!o || load_relaxed(&h->lock_thread) != (uint64_t)pthread_self()) return false;
    uint64_t mine;
    if (mmf__me(ns, &mine)) return false;
    if (TOKEN_SAME_REG(o, mine)) return true;
    /* taken through another handle of this process: its registration names us */
    uint32_t reg = TOKEN_REG(o);
    if (reg == 0 || reg > MMF_REGS) return false;
    const struct mmf_reg *r = &ns->regs[reg - 1];
    const mmf_proc_id *me = &ns->self->id;
    return load32_acquire(&r->incarnation) == TOKEN_INC(o) && load32_relaxed(&r->pid) == me->pid &&
           load32_relaxed(&r->pidns) == me->pidns && load32_relaxed(&r->start) == me->start;
}

int mmf__registrations(mmf *ns, mmf_proc_id out[MMF_REGS], size_t *count) {
    uint64_t mine = 0;
    if (!ns->readonly) {
        int rc = mmf__me(ns, &mine);
        if (rc) return rc;
    }
    uint32_t used = load32_acquire(&ns->hdr->regs_used);
    size_t n = 0;
    mmf_proc_id me;
    mmf__proc_self(&me);
    for (uint32_t i = 0; i < used && i < MMF_REGS; i++) {
        struct mmf_reg *r = &ns->regs[i];
        uint32_t inc = load32_acquire(&r->incarnation);
        int live = mine && TOKEN_REG(mine) == i + 1;
        if (!live) {
            int held = mmf__ofd_held(ns->fd, MMF_REG_LOCK_BASE + i);
            if (held < 0) return held;
            live = held;
        }
        if (!live) continue;
        mmf_proc_id who = {load32_relaxed(&r->pid), load32_relaxed(&r->start),
                           load32_relaxed(&r->pidns)};
        fence_acquire(); /* the fields above are read before the incarnation below */
        if (load32_relaxed(&r->incarnation) != inc) continue; /* changed hands meanwhile */
        if (who.pid && mmf__proc_gone(&who, &me)) continue;   /* an inherited lock */
        size_t j = 0;
        while (j < n &&
               !(out[j].pid == who.pid && out[j].pidns == who.pidns && out[j].start == who.start))
            j++;
        if (j < n) continue; /* another handle of a process already counted */
        out[n++] = who;
    }
    *count = n;
    return MMF_OK;
}

int mmf_attached(mmf *ns, int32_t *pids, size_t cap, size_t *count) {
    if (!ns || !count || (!pids && cap)) return MMF_EINVAL;
    mmf_proc_id *all = malloc(MMF_REGS * sizeof *all);
    if (!all) return MMF_ENOMEM;
    size_t n = 0;
    int rc = mmf__registrations(ns, all, &n);
    if (!rc) {
        for (size_t i = 0; i < n && i < cap; i++)
            pids[i] = (int32_t)all[i].pid;
        *count = n;
    }
    free(all);
    return rc;
}

bool mmf__anyone_attached(int fd, const struct mmf_reg *regs, uint32_t used) {
    /* read-only handles share one byte: any of them keeps the namespace */
    if (mmf__ofd_held(fd, MMF_READERS_LOCK) != 0) return true;
    mmf_proc_id me;
    mmf__proc_self(&me);
    for (uint32_t i = 0; i < used && i < MMF_REGS; i++) {
        int held = mmf__ofd_held(fd, MMF_REG_LOCK_BASE + i);
        if (held < 0) return true; /* cannot tell: someone may be */
        if (!held) continue;
        const struct mmf_reg *r = &regs[i];
        mmf_proc_id who = {load32_relaxed(&r->pid), load32_relaxed(&r->start),
                           load32_relaxed(&r->pidns)};
        if (!mmf__proc_gone(&who, &me)) return true;
    }
    return false;
}

bool mmf__registered_here(mmf *ns) {
    if (ns->readonly) return false;
    uint64_t t = load_acquire(&ns->self->token);
    return t && current(ns, ns->self);
}

void mmf__unregister(mmf *ns) {
    uint64_t t = load_acquire(&ns->self->token);
    mmf__ofd_unlock(ns->fd, MMF_REG_LOCK_BASE + TOKEN_REG(t) - 1);
    store_release(&ns->self->token, 0);
}

int mmf__lifecycle_lock(int fd, bool exclusive, double timeout) {
    mmf_deadline d;
    mmf__deadline_in(&d, timeout);
    for (uint64_t round = 0;; round++) {
        int rc = mmf__flock_try(fd, exclusive);
        if (rc != 1) return rc;
        if (mmf__deadline_passed(&d)) return MMF_ETIMEDOUT;
        /* held for a few system calls at a time: short sleeps */
        if (round < 64)
            mmf__yield();
        else
            mmf__sleep_ns(20000);
    }
}

void mmf__lifecycle_unlock(int fd) {
    mmf__flock_release(fd);
}
