/*
 * Namespace lifecycle: create, attach, close, unlink.
 *
 * Creation race: a namespace is built whole under a private temporary name
 * in the same directory, then published with link(2), which fails with
 * EEXIST if another process published first. So any number of processes may
 * open-or-create at once: exactly one link succeeds, the others attach to
 * the winner's namespace, and nobody can ever see a half-initialised one. A
 * creator killed before link leaves only its temporary file behind.
 *
 * Attach trusts nothing: the object must be a regular file, not writable by
 * others unless it is the caller's own (a squatter could otherwise feed us
 * an image), exactly as large as its header says (a truncated object would
 * SIGBUS later), and every size and offset in the header must be consistent
 * before the first write (format.c); a foreign layout is MMF_EVERSION.
 *
 * The whole file is mapped, every region at its most: the base never moves
 * while the namespace grows (grow.c), and nothing is ever remapped.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "../common/crash.h"

#define SHM_DIR "/dev/shm/"

const char *mmf_version(void) {
    return MMF_VERSION_STRING;
}

static void free_handle(mmf *ns) {
    mmf__unmap(ns->self, 4096);
    free(ns->path);
    free(ns);
}

/* The handle over a validated mapping (of fd, which the caller keeps). A
   read-write one registers, through a description of its own: one that is
   mapped stays open in every child the mapping is inherited by. On failure
   the caller still owns base. */
static int make_handle(const mmf_options *opt, const char *path, unsigned char *base,
                       const struct mmf_geom *g, uint32_t flags, int fd, const mmf_file_info *st,
                       mmf **out) {
    int own;
    int rc = mmf__reopen(fd, path, st->dev, st->ino, !opt->readonly, &own);
    if (rc) return rc;
    mmf *ns = calloc(1, sizeof *ns);
    char *p = ns ? strdup(path) : NULL;
    void *self = NULL;
    mmf__map_private(4096, &self);
    if (!ns || !p || !self) {
        free(ns);
        free(p);
        if (self) mmf__unmap(self, 4096);
        mmf__file_close(own);
        return MMF_ENOMEM;
    }
    ns->self = self;
    ns->wipes = mmf__wipe_on_fork(self, 4096) == 0;
    struct mmf_header *h = (struct mmf_header *)base;
    ns->base = base;
    ns->size = g->size;
    ns->hdr = h;
    ns->geo = *g;
    ns->heap = (struct mmfa_ctx){.base = base, .g = g->heap, .h = &h->heap};

    ns->regs = (struct mmf_reg *)(base + MMF_REGS_OFF);
    ns->t.base = base;
    ns->t.desc = &h->index_desc;
    ns->t.buf[0] = (mmf_a64 *)(base + g->index_off[0]);
    ns->t.buf[1] = (mmf_a64 *)(base + g->index_off[1]);
    ns->t.mask_max = g->index_cap_max - 1u;
    ns->t.slots = (struct mmf_slot *)(base + g->slots_off);
    ns->t.slots_max = g->slots_max;
    ns->t.slots_committed = &h->slots_committed;
    ns->t.heap_lo = g->heap.arena_off;
    ns->t.heap_hi_max = g->heap.arena_off + (g->heap.units << MMFA_UNIT_SHIFT);
    ns->t.heap_units = &h->heap.committed;
    ns->autolock = opt->autolock;
    ns->debug = opt->debug;
    ns->readonly = opt->readonly;
    ns->transient = (flags & MMF_FLAG_TRANSIENT) != 0;
    ns->timeout = opt->timeout;
    ns->spin = opt->spin;
    ns->fd = own;
    ns->dev = st->dev;
    ns->ino = st->ino;
    ns->path = p;
    if (mmfa_sync(&ns->heap) || load_relaxed(&h->slots_committed) > g->slots_max) {
        mmf__file_close(own); /* committed counts of none, or past the reserve */
        free_handle(ns);
        return MMF_ECORRUPT;
    }
    mmfi_refresh(&ns->t); /* what is committed now; only rises */
    uint64_t token;
    /* read-only: one shared lock on a byte of all readers' (they cannot
       register, which writes), so that a transient namespace stays */
    rc = opt->readonly ? mmf__ofd_trylock(own, MMF_READERS_LOCK, false) : mmf__me(ns, &token);
    if (rc == 1) rc = MMF_ESYS; /* only a writer could conflict, and none takes it */
    if (rc) {
        mmf__file_close(own);
        free_handle(ns);
        return rc;
    }
    *out = ns;
    return MMF_OK;
}

#define ATTACH_AGAIN 1 /* the path changed under us: open it again */

/* Whether path still names the file dev/ino. */
static bool same_file(const char *path, uint64_t dev, uint64_t ino) {
    mmf_file_info now;
    return mmf__path_info(path, &now) == 0 && now.dev == dev && now.ino == ino;
}

/* A transient namespace that nobody is attached to any more is stale: it is
   removed (read-write), and counts as absent. */
static int check_stale(const unsigned char *base, uint32_t flags, int fd, const char *path,
                       bool rw) {
    const struct mmf_header *h = (const struct mmf_header *)base;
    if (!(flags & MMF_FLAG_TRANSIENT)) return MMF_OK;
    const struct mmf_reg *regs = (const struct mmf_reg *)(base + MMF_REGS_OFF);
    if (mmf__anyone_attached(fd, regs, load32_acquire(&h->regs_used))) return MMF_OK;
    if (!rw) return MMF_ENOENT;
    mmf__unlink(path); /* the lifecycle lock is held and path names this file */
    return ATTACH_AGAIN;
}

/* Attaches through fd, which it closes. ATTACH_AGAIN if the namespace went
   away meanwhile. */
static int attach(int fd, const mmf_options *opt, const char *path, mmf **out) {
    mmf_file_info st;
    bool rw = !opt->readonly, locked = false;
    void *map = NULL;
    uint64_t size = 0;
    int rc = mmf__file_info(fd, &st);
    if (rc) goto fail;
    if (!st.regular)
        rc = MMF_ECORRUPT;
    else if (st.uid != mmf__euid() && st.others_write)
        rc = MMF_EPERM;
    else if (st.size < MMF_INDEX_OFF)
        rc = MMF_ECORRUPT;
    if (rc) goto fail;
    size = st.size;
    rc = mmf__map_shared(fd, size, rw, &map);
    if (rc) goto fail;
    unsigned char *base = map;
    struct mmf_header_copy c;
    mmf__copy_header(base, &c);
    rc = mmf__validate(base, size, &c);
    /* opening and closing a transient namespace are ordered by this lock */
    if (!rc && (c.flags & MMF_FLAG_TRANSIENT) && !(rc = mmf__lifecycle_lock(fd, rw, opt->timeout)))
        locked = true;
    if (!rc && !same_file(path, st.dev, st.ino))
        rc = ATTACH_AGAIN; /* removed or replaced meanwhile */
    if (!rc) rc = check_stale(base, c.flags, fd, path, rw);
    if (!rc) rc = make_handle(opt, path, base, &c.g, c.flags, fd, &st, out);
    if (rc) goto fail;
    if (locked) mmf__lifecycle_unlock(fd);
    mmf__file_close(fd); /* the mapping keeps the file */
    return MMF_OK;
fail:
    if (locked) mmf__lifecycle_unlock(fd);
    if (map) mmf__unmap(map, size);
    mmf__file_close(fd);
    return rc;
}

/* Exclusive creation found path taken: whether it was a stale transient
   namespace, now removed (or it went away by itself). */
static bool removed_stale(const char *path, bool rw, bool nofollow, double timeout) {
    int fd;
    int rc = mmf__file_open(path, rw, nofollow, &fd);
    if (rc) return rc == MMF_ENOENT;
    mmf_file_info st;
    bool removed = false;
    if (mmf__file_info(fd, &st) == 0 && st.regular && !st.others_write &&
        st.size >= MMF_INDEX_OFF && !mmf__lifecycle_lock(fd, true, timeout)) {
        void *base = NULL;
        mmf__map_shared(fd, MMF_INDEX_OFF, false, &base);
        const struct mmf_header *h = base;
        if (!same_file(path, st.dev, st.ino))
            removed = true;
        else if (base && h->magic == MMF_MAGIC && h->fingerprint == MMF_LAYOUT_FINGERPRINT)
            removed = check_stale(base, h->flags, fd, path, true) == ATTACH_AGAIN;
        if (base) mmf__unmap(base, MMF_INDEX_OFF);
        mmf__lifecycle_unlock(fd);
    }
    mmf__file_close(fd);
    return removed;
}

static char *temp_name(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *basename = path + dirlen;
    size_t n = strlen(path) + 64;
    char *tmp = malloc(n);
    if (!tmp) return NULL;
    long nsec = (long)(mmf__now_ns() % 1000000000u); /* the clock's nanoseconds */
    snprintf(tmp, n, "%.*s.mmf-%s.%d.%lx", (int)dirlen, path, basename, (int)mmf__pid(),
             (unsigned long)(nsec ^ (long)(uintptr_t)&n));
    return tmp;
}

/* MMF_OK (handle in *out), MMF_EEXIST if another process published first. */
/* Allocates what a new namespace commits at first: ENOSPC now rather
   than SIGBUS on a later write. */
static int commit_initial(int fd, const struct mmf_geom *g, const struct mmf_commit *c) {
    uint64_t off[2], len[2];
    mmfa_commit_ranges(&g->heap, 0, c->units, off, len);
    uint64_t index = (uint64_t)8 << c->log2cap;
    int rc = mmf__commit(fd, 0, MMF_INDEX_OFF);
    if (!rc) rc = mmf__commit(fd, g->index_off[0], index < 4096 ? 4096 : index);
    if (!rc) rc = mmf__commit(fd, g->slots_off, c->slots * MMF_SLOT_SIZE);
    for (int i = 0; i < 2 && !rc; i++)
        rc = mmf__commit(fd, off[i], len[i]);
    return rc;
}

/* MMF_OK (handle in *out), MMF_EEXIST if another process published first. */
static int create(const mmf_options *opt, const char *path, mmf **out) {
    struct mmf_geom g;
    struct mmf_commit first;
    int rc = mmf__plan(opt, &g, &first);
    if (rc) return rc;
    char *tmp = temp_name(path);
    if (!tmp) return MMF_ENOMEM;
    int fd;
    rc = mmf__file_create(tmp, &fd);
    if (rc) {
        free(tmp);
        return rc;
    }
    void *map = NULL;
    mmf *ns = NULL;
    mmf_file_info st;
    rc = mmf__file_chmod(fd, opt->mode ? opt->mode : 0600);
    if (!rc) rc = mmf__file_resize(fd, g.size);
    if (!rc) rc = commit_initial(fd, &g, &first);
    if (!rc) rc = mmf__map_shared(fd, g.size, true, &map);
    if (!rc) rc = mmf__file_info(fd, &st);
    if (rc) goto fail;
    unsigned char *base = map;
    rc = mmf__mutex_init(&((struct mmf_header *)base)->mutex);
    if (rc) goto fail;
    mmf__format(base, &g, &first, opt);
    /* registered before anyone can see it: a transient namespace is never
       found with nobody attached while its creator lives */
    rc = make_handle(opt, path, base, &g, opt->transient ? MMF_FLAG_TRANSIENT : 0, fd, &st, &ns);
    if (rc) goto fail;
    MMF_CRASH_POINT("create.before_link");
    rc = mmf__link_new(tmp, path);
    if (rc) goto fail;
    if (opt->debug) fprintf(stderr, "mmf[%s]: created %s\n", opt->name, path);
    mmf__unlink(tmp);
    free(tmp);
    mmf__file_close(fd);
    *out = ns;
    return MMF_OK;
fail:
    if (ns) {
        mmf__file_close(ns->fd);
        free_handle(ns);
    }
    if (map) mmf__unmap(map, g.size);
    mmf__file_close(fd);
    mmf__unlink(tmp);
    free(tmp);
    return rc;
}

static char *namespace_path(const char *name, const char *path) {
    if (path) return strdup(path);
    size_t n = strlen(SHM_DIR) + strlen(name) + 1;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s", SHM_DIR, name);
    return p;
}

static int check_options(const mmf_options *opt) {
    if (mmf__check_name(opt->name)) return MMF_EINVAL;
    if (opt->path && (opt->path[0] == '\0' || strnlen(opt->path, PATH_MAX) >= PATH_MAX - 64))
        return MMF_EINVAL;
    if (!(opt->timeout >= 0) || !isfinite(opt->timeout)) return MMF_EINVAL;
    if (opt->mode & ~07777u) return MMF_EINVAL;
    if (opt->reuse && opt->exclusive) return MMF_EINVAL;
    if (opt->readonly && opt->exclusive) return MMF_EINVAL; /* read-only never creates */
    if (!(opt->spin >= 0) || !isfinite(opt->spin)) return MMF_EINVAL;
    if (opt->max_size && opt->max_size < (opt->size ? opt->size : MMF_DEFAULT_SIZE))
        return MMF_EINVAL;
    return MMF_OK;
}

int mmf_open(const mmf_options *opt, mmf **out) {
    if (!opt || !out) return MMF_EINVAL;
    int rc = check_options(opt);
    if (rc) return rc;
    char *path = namespace_path(opt->name, opt->path);
    if (!path) return MMF_ENOMEM;
    /* open, else create; a lost creation race attaches to the winner's */
    /* in the shared /dev/shm, anyone may plant a symlink: O_NOFOLLOW */
    bool rw = !opt->readonly, nofollow = !opt->path;
    for (int attempt = 0; attempt < 64; attempt++) {
        if (!opt->exclusive) {
            int fd;
            rc = mmf__file_open(path, rw, nofollow, &fd);
            if (!rc) {
                rc = attach(fd, opt, path, out);
                if (rc == ATTACH_AGAIN) continue;
                break;
            }
            if (rc != MMF_ENOENT || opt->reuse || opt->readonly) break;
        }
        rc = create(opt, path, out);
        /* exclusive: only a stale transient namespace may stand in the way */
        if (rc != MMF_EEXIST ||
            (opt->exclusive && !removed_stale(path, rw, nofollow, opt->timeout)))
            break;
    }
    free(path);
    if (!rc && (*out)->debug)
        MMF_DEBUG(*out, "opened %s: %llu bytes committed, growing up to %llu", (*out)->path,
                  (unsigned long long)mmf__committed(*out),
                  (unsigned long long)(*out)->geo.max_size);
    return rc;
}

/* The last process to close a transient namespace removes it. */
static void remove_if_last(mmf *ns) {
    /* a forked child that never wrote through the handle shares its parent's
       descriptor: nothing it could unlock would be its own */
    if (!mmf__registered_here(ns)) return;
    if (mmf__lifecycle_lock(ns->fd, true, ns->timeout)) return; /* the next opener will */
    mmf__unregister(ns);
    if (!mmf__anyone_attached(ns->fd, ns->regs, load32_acquire(&ns->hdr->regs_used)) &&
        same_file(ns->path, ns->dev, ns->ino)) {
        mmf__unlink(ns->path);
        MMF_DEBUG(ns, "removed %s: the last process attached closed it", ns->path);
    }
    mmf__lifecycle_unlock(ns->fd);
}

int mmf_close(mmf *ns) {
    if (!ns) return MMF_EINVAL;
    /* a lock this thread took through this handle (the holder's token is the
       handle that took it first), not one taken through another handle */
    if (mmf__registered_here(ns) &&
        TOKEN_SAME_REG(load_relaxed(&ns->hdr->lock_owner), load_relaxed(&ns->self->token)))
        while (mmf__holds_lock(ns))
            mmf_unlock(ns);
    /* a read-only handle only closes: its share of the readers' byte may be
       a forked child's too (same description), so it cannot tell whether it
       is the last; a namespace it leaves behind is stale for the next opener */
    if (ns->transient && !ns->readonly) remove_if_last(ns);
    mmf__unmap(ns->base, ns->size);
    mmf__file_close(ns->fd); /* drops this process's registration, if it had one */
    free_handle(ns);
    return MMF_OK;
}

int mmf_unlink(const char *name, const char *path) {
    if (!path && mmf__check_name(name)) return MMF_EINVAL;
    if (path && path[0] == '\0') return MMF_EINVAL;
    char *p = namespace_path(name, path);
    if (!p) return MMF_ENOMEM;
    int rc = mmf__unlink(p);
    free(p);
    return rc;
}
