/*
 * core/: the namespace (files, mapping, header), the namespace mutex, crash
 * recovery, and the public functions that glue the index and the allocator.
 * Internal symbols carry the mmf__ prefix.
 */
#ifndef MMF_CORE_INTERNAL_H
#define MMF_CORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../alloc/alloc.h"
#include "../common/layout.h"
#include "../include/mmf.h"
#include "../index/index.h"
#include "prim.h"

/* This process's registration for a handle (registry.c). The page is
   MADV_WIPEONFORK: a forked child finds token 0 and registers anew. */
struct mmf_self {
    mmf_a64 token;  /* 0 = not registered in this process */
    mmf_a32 busy;   /* a thread is registering */
    mmf_a32 pid;    /* the registrant, where the page is not wiped on fork */
    mmf_proc_id id; /* the registrant; written before token (release) */
};

/* The namespace's reserved geometry: planned at creation, or copied from
   the header once at attach and validated. The handle uses only this copy
   (and what was derived from it: heap, t), never the header's fields, which
   another process could change at any time. What is committed of each
   region is published separately (and only rises): see grow.c. */
struct mmf_geom {
    uint64_t size;     /* the file's length: every region at its most; all mapped */
    uint64_t max_size; /* committed bytes at most */
    uint64_t index_off[2], slots_off;
    uint32_t index_cap_max, slots_max;
    struct mmfa_geometry heap;
};

/* What a new namespace commits at first (format.c). */
struct mmf_commit {
    uint64_t slots, units;
    unsigned log2cap;
};

struct mmf {
    unsigned char *base;
    uint64_t size;
    struct mmf_header *hdr;
    struct mmf_geom geo;
    struct mmfa_ctx heap; /* the allocator, over geo.heap */
    struct mmfi_table t;  /* filled once from geo */
    struct mmf_reg *regs;
    bool autolock, debug, readonly, transient, wipes;
    bool registered; /* this handle has registered, maybe in a parent process */
    double timeout, spin;
    struct mmf_self *self;
    int fd; /* the namespace file, not the mapped description: its locks */
    uint64_t dev, ino;
    char *path;
};

#define MMF_DEBUG(ns, ...)                                                                         \
    do {                                                                                           \
        if ((ns)->debug) {                                                                         \
            fprintf(stderr, "mmf[%.*s]: ", (int)sizeof(ns)->hdr->name, (ns)->hdr->name);           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* registry.c */
/* A new open file description of the file fd names, read-write or
   read-only, in *out: through /proc/self/fd, else through path. MMF_ENOENT
   if it is no longer dev/ino. */
int mmf__reopen(int fd, const char *path, uint64_t dev, uint64_t ino, bool rw, int *out);
int mmf__me_slow(mmf *ns, uint64_t *token);
/* This process's token for the handle, registering after a fork.
   MMF_EPERM on a read-only handle. */
MMF_INLINE int mmf__me(mmf *ns, uint64_t *token) {
    uint64_t t = load_acquire(&ns->self->token); /* pairs with the registrant's release */
    if (t && ns->wipes) {
        *token = t;
        return MMF_OK;
    }
    return mmf__me_slow(ns, token);
}
/* Whether the writer behind a claim word still lives; true when it cannot be
   told. Never false for a live writer. */
bool mmf__alive(mmf *ns, uint64_t owner);
bool mmf__holds_lock(mmf *ns);
/* The processes attached now (their registrations, one per process). */
int mmf__registrations(mmf *ns, mmf_proc_id out[MMF_REGS], size_t *count);
/* Whether any live process is attached (registered, or holding the shared
   read-only byte), seen through fd: a description that holds neither. */
bool mmf__anyone_attached(int fd, const struct mmf_reg *regs, uint32_t used);
/* Whether this process registered for the handle. A forked child that has
   not shares its parent's open file description: every lock it took or
   dropped through ns->fd would be its parent's. */
bool mmf__registered_here(mmf *ns);
/* Drops this process's registration (mmf__registered_here). */
void mmf__unregister(mmf *ns);
/* The lock that orders opening and closing a transient namespace (a flock,
   a few system calls long; read-only openers share it), waited for up to
   timeout seconds (0 = forever). */
int mmf__lifecycle_lock(int fd, bool exclusive, double timeout);
void mmf__lifecycle_unlock(int fd);

/* lock.c: the namespace mutex (recursive, robust, process-shared) */
int mmf__mutex_init(pthread_mutex_t *m);
/* Whether a mapped mutex is of the kind mmf__mutex_init makes (one of
   another kind, say priority-inheritance, or garbage, could hang a
   locker). Where the C library gives no way to tell, true. */
bool mmf__mutex_kind_ok(const pthread_mutex_t *m);
int mmf__mutex_lock(mmf *ns, const mmf_deadline *d);
/* The mutex within the handle's timeout: the way every call that only
   needs the mutex takes it. */
int mmf__mutex_lock_timed(mmf *ns);
void mmf__mutex_unlock(mmf *ns);
/* Takes the mutex only if free, and repairs; for readers that found a slot
   claimed by a dead structural writer. Never waits. */
void mmf__recover_try(mmf *ns);

/* claim.c: waiting for a slot's claim (up to the handle's timeout), taking
   over a dead writer's; token from mmf__me. mmf__claim tries once inline
   (the usual case: no call, no clock read); mmf__claim_wait then tries
   again, waits and takes over. */
int mmf__claim_wait(mmf *ns, struct mmf_slot *s, uint64_t token);
MMF_INLINE int mmf__claim(mmf *ns, struct mmf_slot *s, uint64_t token) {
    uint64_t seen;
    if (mmfi_claim(s, token, &seen)) return MMF_OK;
    return mmf__claim_wait(ns, s, token);
}
/* Whether it is time to ask if a holder lives: 0.2 ms after the first call
   (*next_ns starts 0), then every millisecond. */
bool mmf__liveness_due(uint64_t *next_ns);
/* A reader's answer to a slot stuck odd (index.h, mmfi_stall). A waiter
   (mmf_wait) sets `waiting`: once the slot's writer is known alive it gives
   up at once, with the slot in `busy`, and sleeps instead of stalling. */
struct mmf_read_ctx {
    mmf *ns;
    uint64_t started_ns;
    int err;
    bool waiting;
    struct mmf_slot *busy;
};
int mmf__read_stall(void *ctx, struct mmf_slot *s, uint64_t spins);
/* A reader's context on ns, and the stall (mmf__read_stall over it) that the
   index's reads take; ctx must outlive every read given st:
       struct mmf_read_ctx ctx = mmf__read_ctx(ns);
       mmfi_stall st = mmf__read_stall_on(&ctx);
   after a read that gave up (MMFI_ESTALL), ctx.err and ctx.busy say why. */
MMF_INLINE struct mmf_read_ctx mmf__read_ctx(mmf *ns) {
    return (struct mmf_read_ctx){.ns = ns};
}
MMF_INLINE mmfi_stall mmf__read_stall_on(struct mmf_read_ctx *ctx) {
    return (mmfi_stall){mmf__read_stall, ctx};
}
/* Ends the odd gen of a slot whose writer died (claim held by the caller). */
void mmf__finish_dead_write(struct mmf_slot *s);
/* Takes the claim of a dead in-place writer (dead: the word seen) for token
   and ends its write; 0 if another process took it first. Counted in
   claim_takeovers. */
int mmf__take_over(mmf *ns, struct mmf_slot *s, uint64_t dead, uint64_t token);
/* Wakes the slot's sleepers if a waiter raised its flag: inline, the
   usual case being none. The seq_cst load comes after seq_write_end's
   seq_cst store (Dekker with mmf_wait, see wait.c). */
void mmf__wake_slot_sleepers(struct mmf_slot *s);
MMF_INLINE void mmf__wake_slot(struct mmf_slot *s) {
    if (load32_seq_cst(&s->waiters)) mmf__wake_slot_sleepers(s);
}
void mmf__wake_struct(mmf *ns);

/* recover.c: with the mutex held */
int mmf__recover(mmf *ns);
/* Live blocks of every slot, in slot order, for mmfa_rebuild and the leak
   check: an mmfa_live_fn over a cursor that starts as {.t = table}. */
struct mmf_live_cursor {
    const struct mmfi_table *t;
    struct mmfi_view v; /* the index in use, loaded at the first call */
    uint64_t pos;       /* next index entry to look at */
    uint64_t off[3];
    unsigned order[3];
    int n, next; /* blocks of the current slot, and the next one to yield */
    int err;     /* MMF_ECORRUPT if a slot's blocks are out of bounds */
};
int mmf__live_blocks(void *cursor, uint64_t *off, unsigned *order);

/* slots.c: with the mutex held */
int mmf__slot_alloc(mmf *ns, uint64_t *slot);
void mmf__slot_free(mmf *ns, uint64_t slot);
/* The free-slot chain from the index; MMF_ECORRUPT if an entry names a slot
   out of range or one named by another entry. */
int mmf__slots_rebuild(mmf *ns);

#define MMF_SLOT_GRAIN 16u /* slots are committed a page (16) at a time */

/* Offsets and lengths in whole pages, as posix_fallocate allocates them. */
MMF_INLINE uint64_t mmf__page_up(uint64_t n) {
    return (n + 4095) & ~4095ull;
}
MMF_INLINE uint64_t mmf__page_down(uint64_t n) {
    return n & ~4095ull;
}

/* format.c: a new namespace's layout, and the checks of an existing one */
int mmf__plan(const mmf_options *opt, struct mmf_geom *g, struct mmf_commit *c);
/* Writes a new namespace's header and heap into base (a fresh, zeroed
   file, its committed parts allocated). */
void mmf__format(unsigned char *base, const struct mmf_geom *g, const struct mmf_commit *c,
                 const mmf_options *opt);
/* The header fields attach checks, each read from the mapping exactly once:
   every check and everything the handle keeps comes from this copy, so a
   process changing the header meanwhile cannot slip a value past a check. */
struct mmf_header_copy {
    uint64_t magic, fingerprint;
    uint32_t layout_version, header_size, ready, flags;
    struct mmf_geom g;
    char name[sizeof((struct mmf_header *)0)->name];
};
void mmf__copy_header(const unsigned char *base, struct mmf_header_copy *c);
/* What committing the heap's first units takes of the file, in whole
   pages as posix_fallocate allocates them: the meta bytes' pages and the
   arena's, counted once where they share one. */
uint64_t mmf__heap_pages(const struct mmfa_geometry *g, uint64_t units);
/* Everything attach needs from the header, checked on the copy before
   anything is written or followed. */
int mmf__validate(const unsigned char *base, uint64_t file_size, const struct mmf_header_copy *c);

/* grow.c: with the mutex held */
/* Brings the handle up to what other processes grew (heap units, slot
   count); MMF_ECORRUPT if the header's counts cannot be. */
int mmf__sync(mmf *ns);
/* Bytes committed now: the header and registrations, both index buffers
   as far as they were committed, the slots and the heap. */
uint64_t mmf__committed(mmf *ns);
int mmf__grow_slots(mmf *ns);
/* Commits heap until a block of the given order can be allocated. */
int mmf__grow_heap(mmf *ns, unsigned order);
/* Before a structural write: rebuilds the index larger if one more live
   entry (inserting) would fill more than half of it, or at the same size
   when tombstones pass an eighth of it. Failing to grow is not an error
   while the index still has room. */
int mmf__index_room(mmf *ns, bool inserting);

/* inspect.c: entries a lookup of key visits in the index in use (0 for a
   bad key or handle); for tests, which show that probes stay short however
   the index churned. */
uint64_t mmf__probes(mmf *ns, const char *key);

/* validate.c */
int mmf__check_key(const char *key, size_t *klen);
int mmf__check_name(const char *name);
int mmf__map_index_rc(int rc);

/* A key checked (NUL-terminated, 1..MMF_KEY_MAX bytes) and prepared for
   lookups (hash and words); MMF_EINVAL if it is not a key. */
MMF_INLINE int mmf__key_prepare(struct mmfi_key *k, const char *key) {
    if (!key) return MMF_EINVAL;
    size_t n = mmfi_key_len(key, MMF_KEY_MAX);
    if (n - 1 >= MMF_KEY_MAX) return MMF_EINVAL; /* 0 wraps around */
    mmfi_key_init(k, key, n);
    return MMF_OK;
}

/* What a read returns, from what the index said. */
MMF_INLINE int mmf__get_result(int rc, const mmfi_hit *hit, const struct mmf_read_ctx *st,
                               size_t *len, uint64_t *version, uint8_t *tag) {
    if (__builtin_expect(rc == MMFI_FOUND, 1)) {
        *len = hit->len;
        if (version) *version = hit->version;
        if (tag) *tag = (uint8_t)VS_TAG(hit->vstate);
        return MMF_OK;
    }
    if (rc == MMFI_ESTALL) return st->err;
    if (rc == MMFI_SMALL) {
        *len = hit->len;
        if (version) *version = hit->version;
        if (tag) *tag = (uint8_t)VS_TAG(hit->vstate);
    } else if (rc == MMFI_MISSING && version) {
        *version = 0;
    }
    return mmf__map_index_rc(rc);
}

/* ops.c: the write paths, shared by the by-name calls and handles (var.c) */
enum mmf__op_kind { OP_SET, OP_CAS, OP_ADD };
struct mmf__write_op {
    enum mmf__op_kind kind;
    const void *val;
    size_t len;
    uint64_t expected; /* OP_CAS */
    int64_t delta;     /* OP_ADD */
    int64_t sum;
    uint8_t tag;
};
#define MMF__FALLBACK 1 /* the in-place path cannot do it; take the mutex */
/* Argument and permission checks of every write; *me is the caller's token. */
int mmf__write_begin(mmf *ns, const struct mmf__write_op *op, uint64_t *me);
/* In place into slot, if it still holds the variable: by key k, or (k NULL)
   by incarnation inc. MMF__FALLBACK if it does not, if the
   value does not fit, or if another process holds the explicit lock. */
int mmf__write_slot(mmf *ns, uint64_t me, uint64_t slot, const struct mmfi_key *k, uint64_t inc,
                    struct mmf__write_op *op);
/* The structural path, under the namespace mutex. */
int mmf__write_locked(mmf *ns, uint64_t me, const struct mmfi_key *k, struct mmf__write_op *op);

/* var.c: a handle's reads for mmf_var_wait: the cached slot if it still
   holds the variable, else by name (as mmfi_get). */
int mmf__var_read(mmf_var *var, void *buf, size_t cap, mmfi_hit *hit, const mmfi_stall *st);
mmf *mmf__var_ns(const mmf_var *var);

#endif
