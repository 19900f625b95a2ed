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
 * before the first write; a foreign layout is MMF_EVERSION.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "../common/crash.h"

#define SHM_DIR "/dev/shm/"
#define MIN_CAPACITY 8u
#define MAX_CAPACITY (1u << 30)

const char *mmf_version(void) {
    return MMF_VERSION_STRING;
}

static int plan(const mmf_options *opt, struct mmf_geom *g) {
    uint64_t size = opt->size ? opt->size : MMF_DEFAULT_SIZE;
    if (size > (1ull << 46)) return MMF_EINVAL;
    size = (size + 4095) & ~4095ull;
    /* by default, a slot (256 B) and its entries for every 2 KiB */
    uint64_t vars = opt->max_vars ? opt->max_vars : size / 2048;
    if (vars < 16 && !opt->max_vars) vars = 16;
    if (vars == 0 || vars > MMF_MAX_VARS) return MMF_EINVAL;
    uint64_t cap = MIN_CAPACITY;
    while (cap < vars * 2) cap *= 2; /* entries at most half full: short probes */
    g->max_vars = (uint32_t)vars;
    g->index_cap = (uint32_t)cap;
    g->index_off = MMF_INDEX_OFF;
    g->slots_off = (MMF_INDEX_OFF + cap * 8 + 4095) & ~4095ull;
    uint64_t slots_end = g->slots_off + vars * MMF_SLOT_SIZE;
    if (size < slots_end + 4096) return MMF_EINVAL; /* no room for a heap */
    if (mmfa_plan(slots_end, size - slots_end, &g->heap)) return MMF_EINVAL;
    g->size = size;
    return MMF_OK;
}

static void format(unsigned char *base, const struct mmf_geom *g, const mmf_options *opt) {
    struct mmf_header *h = (struct mmf_header *)base;
    /* a fresh file reads as zeros: every entry EMPTY, every slot free */
    h->magic = MMF_MAGIC;
    h->layout_version = MMF_LAYOUT_VERSION;
    h->header_size = MMF_HEADER_SIZE;
    h->fingerprint = MMF_LAYOUT_FINGERPRINT;
    h->map_size = g->size;
    h->index_off = g->index_off;
    h->flags = opt->transient ? MMF_FLAG_TRANSIENT : 0;
    h->index_cap = g->index_cap;
    h->max_vars = g->max_vars;
    h->slots_off = g->slots_off;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    h->created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    strncpy(h->name, opt->name, sizeof h->name - 1);
    /* the whole reserve is committed at creation (for now): cannot fail */
    mmfa_format(&(struct mmfa_ctx){.base = base, .g = g->heap, .h = &h->heap}, g->heap.units);
    /* release: nobody can see the file before link(2) publishes it, but the
       flag is what attach checks */
    store32_release(&h->ready, 1);
}

/* The header fields attach checks, each read from the mapping exactly once:
   every check below and everything the handle keeps comes from this copy,
   so a process changing the header meanwhile cannot slip a value past a
   check (no double fetch). */
struct header_copy {
    uint64_t magic, fingerprint;
    uint32_t layout_version, header_size, ready, flags;
    struct mmf_geom g;
    char name[sizeof((struct mmf_header *)0)->name];
};

static void copy_header(const unsigned char *base, struct header_copy *c) {
    const struct mmf_header *h = (const struct mmf_header *)base;
    /* acquire: the fields below were written before ready was set */
    c->ready = load32_acquire(&h->ready);
    c->magic = h->magic;
    c->fingerprint = h->fingerprint;
    c->layout_version = h->layout_version;
    c->header_size = h->header_size;
    c->flags = h->flags;
    c->g.size = h->map_size;
    c->g.index_off = h->index_off;
    c->g.index_cap = h->index_cap;
    c->g.max_vars = h->max_vars;
    c->g.slots_off = h->slots_off;
    memcpy(&c->g.heap, &h->heap.geo, sizeof c->g.heap);
    memcpy(c->name, h->name, sizeof c->name);
    /* the copy is final: the compiler may not re-read a field from the
       mapping in place of a use of the copy */
    fence_compiler();
}

/* Everything attach needs from the header, checked on the copy c before
   anything is written or followed. */
static int validate(const unsigned char *base, uint64_t file_size, const struct header_copy *c) {
    const struct mmf_geom *g = &c->g;
    if (c->magic != MMF_MAGIC) return MMF_ECORRUPT;
    if (c->layout_version != MMF_LAYOUT_VERSION || c->fingerprint != MMF_LAYOUT_FINGERPRINT)
        return MMF_EVERSION;
    if (c->header_size != MMF_HEADER_SIZE || g->size != file_size) return MMF_ECORRUPT;
    if (c->ready != 1) return MMF_ECORRUPT;
    uint64_t cap = g->index_cap, vars = g->max_vars;
    if (g->index_off != MMF_INDEX_OFF || (c->flags & ~MMF_FLAG_TRANSIENT) || cap < MIN_CAPACITY || cap > MAX_CAPACITY ||
        (cap & (cap - 1)) || vars == 0 || vars > MMF_MAX_VARS || vars > cap)
        return MMF_ECORRUPT;
    uint64_t index_end = g->index_off + cap * 8;
    if (g->slots_off < index_end || g->slots_off % MMF_SLOT_SIZE || g->slots_off > file_size ||
        vars > (file_size - g->slots_off) / MMF_SLOT_SIZE)
        return MMF_ECORRUPT;
    uint64_t slots_end = g->slots_off + vars * MMF_SLOT_SIZE;
    if (!mmfa_geometry_ok(&g->heap, file_size) || g->heap.meta_off < slots_end) return MMF_ECORRUPT;
    if (memchr(c->name, '\0', sizeof c->name) == NULL) return MMF_ECORRUPT;
#ifdef __GLIBC__
    /* a mutex of another kind (say, PI, or garbage) could hang a locker */
    const struct mmf_header *h = (const struct mmf_header *)base;
    pthread_mutex_t ref;
    if (mmf__mutex_init(&ref)) return MMF_ESYS;
    int same = ref.__data.__kind == h->mutex.__data.__kind;
    pthread_mutex_destroy(&ref);
    if (!same) return MMF_ECORRUPT;
#else
    (void)base;
#endif
    return MMF_OK;
}

static void free_handle(mmf *ns) {
    munmap(ns->self, 4096);
    free(ns->path);
    free(ns);
}

/* The handle over a validated mapping (of fd, which the caller keeps). A
   read-write one registers, through a description of its own: one that is
   mapped stays open in every child the mapping is inherited by. On failure
   the caller still owns base. */
static int make_handle(const mmf_options *opt, const char *path, unsigned char *base,
                       const struct mmf_geom *g, uint32_t flags, int fd, const struct stat *st,
                       mmf **out) {
    int own = mmf__reopen(fd, path, st->st_dev, st->st_ino, opt->readonly ? O_RDONLY : O_RDWR);
    if (own < 0) return mmf__errno_code(errno);
    mmf *ns = calloc(1, sizeof *ns);
    char *p = ns ? strdup(path) : NULL;
    void *self = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ns || !p || self == MAP_FAILED) {
        free(ns);
        free(p);
        if (self != MAP_FAILED) munmap(self, 4096);
        close(own);
        return MMF_ENOMEM;
    }
    ns->self = self;
    ns->wipes = madvise(self, 4096, MADV_WIPEONFORK) == 0;
    struct mmf_header *h = (struct mmf_header *)base;
    ns->base = base;
    ns->size = g->size;
    ns->hdr = h;
    ns->geo = *g;
    ns->heap = (struct mmfa_ctx){.base = base, .g = g->heap, .h = &h->heap};
    if (mmfa_sync(&ns->heap)) { /* the committed units: none, or past the reserve */
        close(own);
        free(p);
        free_handle(ns);
        return MMF_ECORRUPT;
    }
    ns->regs = (struct mmf_reg *)(base + MMF_REGS_OFF);
    ns->t.base = base;
    ns->t.entries = (mmf_a64 *)(base + g->index_off);
    ns->t.mask = g->index_cap - 1u;
    ns->t.slots = (struct mmf_slot *)(base + g->slots_off);
    ns->t.nslots = g->max_vars;
    ns->t.heap_lo = g->heap.arena_off;
    ns->t.heap_hi = g->heap.arena_off + (g->heap.units << MMFA_UNIT_SHIFT);
    ns->autolock = opt->autolock;
    ns->debug = opt->debug;
    ns->readonly = opt->readonly;
    ns->transient = (flags & MMF_FLAG_TRANSIENT) != 0;
    ns->timeout = opt->timeout;
    ns->spin = opt->spin;
    ns->fd = own;
    ns->dev = st->st_dev;
    ns->ino = st->st_ino;
    ns->path = p;
    uint64_t token;
    /* read-only: one shared lock on a byte of all readers' (they cannot
       register, which writes), so that a transient namespace stays */
    int rc = opt->readonly ? mmf__ofd_trylock(own, MMF_READERS_LOCK, false) : mmf__me(ns, &token);
    if (rc == 1) rc = MMF_ESYS; /* only a writer could conflict, and none takes it */
    if (rc) {
        close(own);
        free_handle(ns);
        return rc;
    }
    *out = ns;
    return MMF_OK;
}

#define ATTACH_AGAIN 1 /* the path changed under us: open it again */

/* Whether path still names the file st describes. */
static bool same_file(const char *path, const struct stat *st) {
    struct stat now;
    return stat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
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
    unlink(path); /* the lifecycle lock is held and path names this file */
    return ATTACH_AGAIN;
}

/* Attaches through fd, which it closes. ATTACH_AGAIN if the namespace went
   away meanwhile. */
static int attach(int fd, const mmf_options *opt, const char *path, mmf **out) {
    struct stat st;
    bool rw = !opt->readonly, locked = false;
    unsigned char *base = MAP_FAILED;
    uint64_t size = 0;
    int rc = MMF_OK;
    if (fstat(fd, &st) == -1) {
        rc = mmf__errno_code(errno);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) rc = MMF_ECORRUPT;
    else if (st.st_uid != geteuid() && (st.st_mode & S_IWOTH)) rc = MMF_EPERM;
    else if (st.st_size < (off_t)MMF_INDEX_OFF) rc = MMF_ECORRUPT;
    if (rc) goto fail;
    size = (uint64_t)st.st_size;
    base = mmap(NULL, size, PROT_READ | (rw ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        rc = mmf__errno_code(errno);
        goto fail;
    }
    struct header_copy c;
    copy_header(base, &c);
    rc = validate(base, size, &c);
    /* opening and closing a transient namespace are ordered by this lock */
    if (!rc && (c.flags & MMF_FLAG_TRANSIENT) && !(rc = mmf__lifecycle_lock(fd, rw, opt->timeout)))
        locked = true;
    if (!rc && !same_file(path, &st)) rc = ATTACH_AGAIN; /* removed or replaced meanwhile */
    if (!rc) rc = check_stale(base, c.flags, fd, path, rw);
    if (!rc) rc = make_handle(opt, path, base, &c.g, c.flags, fd, &st, out);
    if (rc) goto fail;
    if (locked) mmf__lifecycle_unlock(fd);
    close(fd); /* the mapping keeps the file */
    return MMF_OK;
fail:
    if (locked) mmf__lifecycle_unlock(fd);
    if (base != MAP_FAILED) munmap(base, size);
    close(fd);
    return rc;
}

/* Exclusive creation found path taken: whether it was a stale transient
   namespace, now removed (or it went away by itself). */
static bool removed_stale(const char *path, int flags, double timeout) {
    int fd = open(path, flags);
    if (fd < 0) return errno == ENOENT;
    struct stat st;
    bool removed = false;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & S_IWOTH) &&
        st.st_size >= (off_t)MMF_INDEX_OFF && !mmf__lifecycle_lock(fd, true, timeout)) {
        void *base = mmap(NULL, MMF_INDEX_OFF, PROT_READ, MAP_SHARED, fd, 0);
        const struct mmf_header *h = base;
        if (!same_file(path, &st))
            removed = true;
        else if (base != MAP_FAILED && h->magic == MMF_MAGIC &&
                 h->fingerprint == MMF_LAYOUT_FINGERPRINT)
            removed = check_stale(base, h->flags, fd, path, true) == ATTACH_AGAIN;
        if (base != MAP_FAILED) munmap(base, MMF_INDEX_OFF);
        mmf__lifecycle_unlock(fd);
    }
    close(fd);
    return removed;
}

static char *temp_name(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *basename = path + dirlen;
    size_t n = strlen(path) + 64;
    char *tmp = malloc(n);
    if (!tmp) return NULL;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    snprintf(tmp, n, "%.*s.mmf-%s.%d.%lx", (int)dirlen, path, basename, (int)getpid(),
             (unsigned long)(now.tv_nsec ^ (long)(uintptr_t)&n));
    return tmp;
}

/* MMF_OK (handle in *out), MMF_EEXIST if another process published first. */
static int create(const mmf_options *opt, const char *path, mmf **out) {
    struct mmf_geom g;
    int rc = plan(opt, &g);
    if (rc) return rc;
    char *tmp = temp_name(path);
    if (!tmp) return MMF_ENOMEM;
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = mmf__errno_code(errno);
        free(tmp);
        return rc;
    }
    unsigned char *base = MAP_FAILED;
    mmf *ns = NULL;
    struct stat st;
    if (fchmod(fd, opt->mode ? opt->mode : 0600) == -1 || ftruncate(fd, (off_t)g.size) == -1) goto os_error;
    /* reserve the memory now: ENOSPC here rather than SIGBUS on a later write */
    rc = posix_fallocate(fd, 0, (off_t)g.size);
    if (rc && rc != EOPNOTSUPP && rc != EINVAL) {
        errno = rc;
        goto os_error;
    }
    base = mmap(NULL, g.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED || fstat(fd, &st) == -1) goto os_error;
    rc = mmf__mutex_init(&((struct mmf_header *)base)->mutex);
    if (rc) goto fail;
    format(base, &g, opt);
    /* registered before anyone can see it: a transient namespace is never
       found with nobody attached while its creator lives */
    rc = make_handle(opt, path, base, &g, opt->transient ? MMF_FLAG_TRANSIENT : 0, fd, &st, &ns);
    if (rc) goto fail;
    MMF_CRASH_POINT("create.before_link");
    if (link(tmp, path) == -1) goto os_error;
    if (opt->debug) fprintf(stderr, "mmf[%s]: created %s\n", opt->name, path);
    unlink(tmp);
    free(tmp);
    close(fd);
    *out = ns;
    return MMF_OK;
os_error:
    rc = mmf__errno_code(errno);
fail:
    if (ns) {
        close(ns->fd);
        free_handle(ns);
    }
    if (base != MAP_FAILED) munmap(base, g.size);
    close(fd);
    unlink(tmp);
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
    uint64_t size = opt->size ? opt->size : MMF_DEFAULT_SIZE;
    if (opt->max_size && opt->max_size < size) return MMF_EINVAL;
    return MMF_OK;
}

int mmf_open(const mmf_options *opt, mmf **out) {
    if (!opt || !out) return MMF_EINVAL;
    int rc = check_options(opt);
    if (rc) return rc;
    char *path = namespace_path(opt->name, opt->path);
    if (!path) return MMF_ENOMEM;
    /* open, else create; a lost creation race attaches to the winner's */
    int flags = (opt->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (opt->path ? 0 : O_NOFOLLOW);
    for (int attempt = 0; attempt < 64; attempt++) {
        if (!opt->exclusive) {
            /* in the shared /dev/shm, anyone may plant a symlink: O_NOFOLLOW */
            int fd = open(path, flags);
            if (fd >= 0) {
                rc = attach(fd, opt, path, out);
                if (rc == ATTACH_AGAIN) continue;
                break;
            }
            rc = mmf__errno_code(errno);
            if (rc != MMF_ENOENT || opt->reuse || opt->readonly) break;
        }
        rc = create(opt, path, out);
        /* exclusive: only a stale transient namespace may stand in the way */
        if (rc != MMF_EEXIST || (opt->exclusive && !removed_stale(path, flags, opt->timeout)))
            break;
    }
    free(path);
    if (!rc && (*out)->debug)
        MMF_DEBUG(*out, "opened %s: %llu bytes, %u variables at most", (*out)->path,
                  (unsigned long long)(*out)->size, (*out)->geo.max_vars);
    return rc;
}

/* The last process to close a transient namespace removes it. */
static void remove_if_last(mmf *ns) {
    /* a forked child that never wrote through the handle shares its parent's
       descriptor: nothing it could unlock would be its own */
    if (!mmf__registered_here(ns)) return;
    if (mmf__lifecycle_lock(ns->fd, true, ns->timeout)) return; /* the next opener will */
    mmf__unregister(ns);
    struct stat st = {.st_dev = (dev_t)ns->dev, .st_ino = (ino_t)ns->ino};
    if (!mmf__anyone_attached(ns->fd, ns->regs, load32_acquire(&ns->hdr->regs_used)) &&
        same_file(ns->path, &st)) {
        unlink(ns->path);
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
        while (mmf__holds_lock(ns)) mmf_unlock(ns);
    /* a read-only handle only closes: its share of the readers' byte may be
       a forked child's too (same description), so it cannot tell whether it
       is the last; a namespace it leaves behind is stale for the next opener */
    if (ns->transient && !ns->readonly) remove_if_last(ns);
    munmap(ns->base, ns->size);
    close(ns->fd); /* drops this process's registration, if it had one */
    free_handle(ns);
    return MMF_OK;
}

int mmf_unlink(const char *name, const char *path) {
    if (!path && mmf__check_name(name)) return MMF_EINVAL;
    if (path && path[0] == '\0') return MMF_EINVAL;
    char *p = namespace_path(name, path);
    if (!p) return MMF_ENOMEM;
    int rc = unlink(p) == -1 ? mmf__errno_code(errno) : MMF_OK;
    free(p);
    return rc;
}
