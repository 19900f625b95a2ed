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
    g->index_off = MMF_HEADER_SIZE;
    g->slots_off = (MMF_HEADER_SIZE + cap * 8 + 4095) & ~4095ull;
    uint64_t slots_end = g->slots_off + vars * MMF_SLOT_SIZE;
    if (size < slots_end + 4096) return MMF_EINVAL; /* no room for a heap */
    if (mmfa_plan(slots_end, size - slots_end, &g->heap)) return MMF_EINVAL;
    g->size = size;
    return MMF_OK;
}

static void format(unsigned char *base, const struct mmf_geom *g, const char *name) {
    struct mmf_header *h = (struct mmf_header *)base;
    /* a fresh file reads as zeros: every entry EMPTY, every slot free */
    h->magic = MMF_MAGIC;
    h->layout_version = MMF_LAYOUT_VERSION;
    h->header_size = MMF_HEADER_SIZE;
    h->fingerprint = MMF_LAYOUT_FINGERPRINT;
    h->map_size = g->size;
    h->index_off = g->index_off;
    h->index_cap = g->index_cap;
    h->max_vars = g->max_vars;
    h->slots_off = g->slots_off;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    h->created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    strncpy(h->name, name, sizeof h->name - 1);
    mmfa_format(&(struct mmfa_ctx){.base = base, .g = g->heap, .h = &h->heap});
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
    uint32_t layout_version, header_size, ready;
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
    if (g->index_off != MMF_HEADER_SIZE || cap < MIN_CAPACITY || cap > MAX_CAPACITY ||
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

/* g: the geometry plan() made, or the copy validate() checked; the handle
   never reads the header's geometry again. */
static int make_handle(const mmf_options *opt, const char *path, unsigned char *base,
                       const struct mmf_geom *g, mmf **out) {
    mmf *ns = calloc(1, sizeof *ns);
    char *p = ns ? strdup(path) : NULL;
    void *self = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!ns || !p || self == MAP_FAILED) {
        free(ns);
        free(p);
        if (self != MAP_FAILED) munmap(self, 4096);
        return MMF_ENOSPC;
    }
    ns->self = self;
    ns->self->wipes = madvise(self, 4096, MADV_WIPEONFORK) == 0;
    struct mmf_header *h = (struct mmf_header *)base;
    ns->base = base;
    ns->size = g->size;
    ns->hdr = h;
    ns->geo = *g;
    ns->heap = (struct mmfa_ctx){.base = base, .g = g->heap, .h = &h->heap};
    ns->t.base = base;
    ns->t.entries = (mmf_a64 *)(base + g->index_off);
    ns->t.mask = g->index_cap - 1u;
    ns->t.slots = (struct mmf_slot *)(base + g->slots_off);
    ns->t.nslots = g->max_vars;
    ns->t.heap_lo = g->heap.arena_off;
    ns->t.heap_hi = g->heap.arena_off + (g->heap.units << MMFA_UNIT_SHIFT);
    ns->autolock = opt->autolock;
    ns->debug = opt->debug;
    ns->timeout = opt->timeout;
    ns->path = p;
    *out = ns;
    return MMF_OK;
}

static int attach(int fd, const mmf_options *opt, const char *path, mmf **out) {
    struct stat st;
    if (fstat(fd, &st) == -1) return mmf__errno_code(errno);
    if (!S_ISREG(st.st_mode)) return MMF_ECORRUPT;
    if (st.st_uid != geteuid() && (st.st_mode & S_IWOTH)) return MMF_EPERM;
    if (st.st_size < (off_t)MMF_HEADER_SIZE) return MMF_ECORRUPT;
    uint64_t size = (uint64_t)st.st_size;
    unsigned char *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return mmf__errno_code(errno);
    struct header_copy c;
    copy_header(base, &c);
    int rc = validate(base, size, &c);
    if (!rc) rc = make_handle(opt, path, base, &c.g, out);
    if (rc) munmap(base, size);
    return rc;
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
    if (!tmp) return MMF_ENOSPC;
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = mmf__errno_code(errno);
        free(tmp);
        return rc;
    }
    unsigned char *base = MAP_FAILED;
    if (fchmod(fd, opt->mode ? opt->mode : 0600) == -1 || ftruncate(fd, (off_t)g.size) == -1) goto os_error;
    /* reserve the memory now: ENOSPC here rather than SIGBUS on a later write */
    rc = posix_fallocate(fd, 0, (off_t)g.size);
    if (rc && rc != EOPNOTSUPP && rc != EINVAL) {
        errno = rc;
        goto os_error;
    }
    base = mmap(NULL, g.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) goto os_error;
    rc = mmf__mutex_init(&((struct mmf_header *)base)->mutex);
    if (rc) goto fail;
    format(base, &g, opt->name);
    MMF_CRASH_POINT("create.before_link");
    if (link(tmp, path) == -1) goto os_error;
    if (opt->debug) fprintf(stderr, "mmf[%s]: created %s\n", opt->name, path);
    unlink(tmp);
    free(tmp);
    close(fd);
    rc = make_handle(opt, path, base, &g, out);
    if (rc) munmap(base, g.size);
    return rc;
os_error:
    rc = mmf__errno_code(errno);
fail:
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
    return MMF_OK;
}

int mmf_open(const mmf_options *opt, mmf **out) {
    if (!opt || !out) return MMF_EINVAL;
    int rc = check_options(opt);
    if (rc) return rc;
    char *path = namespace_path(opt->name, opt->path);
    if (!path) return MMF_ENOSPC;
    /* open, else create; a lost creation race attaches to the winner's */
    for (int attempt = 0; attempt < 64; attempt++) {
        if (!opt->exclusive) {
            /* in the shared /dev/shm, anyone may plant a symlink */
            int fd = open(path, O_RDWR | O_CLOEXEC | (opt->path ? 0 : O_NOFOLLOW));
            if (fd >= 0) {
                rc = attach(fd, opt, path, out);
                close(fd);
                break;
            }
            rc = mmf__errno_code(errno);
            if (rc != MMF_ENOENT || opt->reuse) break;
        }
        rc = create(opt, path, out);
        if (rc != MMF_EEXIST || opt->exclusive) break;
    }
    free(path);
    if (!rc && (*out)->debug)
        MMF_DEBUG(*out, "opened %s: %llu bytes, %u variables at most", (*out)->path,
                  (unsigned long long)(*out)->size, (*out)->geo.max_vars);
    return rc;
}

int mmf_close(mmf *ns) {
    if (!ns) return MMF_EINVAL;
    while (mmf__holds_lock(ns)) mmf_unlock(ns);
    munmap(ns->base, ns->size);
    munmap(ns->self, 4096);
    free(ns->path);
    free(ns);
    return MMF_OK;
}

int mmf_unlink(const char *name, const char *path) {
    if (!path && mmf__check_name(name)) return MMF_EINVAL;
    if (path && path[0] == '\0') return MMF_EINVAL;
    char *p = namespace_path(name, path);
    if (!p) return MMF_ENOSPC;
    int rc = unlink(p) == -1 ? mmf__errno_code(errno) : MMF_OK;
    free(p);
    return rc;
}
