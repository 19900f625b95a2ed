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

#include "../alloc/alloc.h"
#include "../common/layout.h"
#include "../include/mmf.h"
#include "../index/index.h"
#include "prim.h"

/* Per-handle, fork-aware process identity: the page is MADV_WIPEONFORK, so
   a forked child sees token 0 and computes its own, without a getpid() on
   every write. */
struct mmf_self {
    mmf_a64 token;
    int pid;       /* only used where MADV_WIPEONFORK is not available */
    bool wipes;    /* the page is wiped on fork */
};

/* The namespace's geometry: planned at creation, or copied from the header
   once at attach and validated. The handle uses only this copy (and what was
   derived from it: heap, t), never the header's fields, which another
   process could change at any time. */
struct mmf_geom {
    uint64_t size; /* the header's map_size, and the mapping's length */
    uint64_t index_off, slots_off;
    uint32_t index_cap, max_vars;
    struct mmfa_geometry heap;
};

struct mmf {
    unsigned char *base;
    uint64_t size;
    struct mmf_header *hdr;
    struct mmf_geom geo;
    struct mmfa_ctx heap; /* the allocator, over geo.heap */
    struct mmfi_table t;  /* filled once from geo */
    bool autolock, debug;
    double timeout;
    struct mmf_self *self;
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

/* self.c */
uint64_t mmf__token(mmf *ns);
bool mmf__holds_lock(mmf *ns);

/* lock.c: the namespace mutex (recursive, robust, process-shared) */
int mmf__mutex_init(pthread_mutex_t *m);
int mmf__mutex_lock(mmf *ns, const mmf_deadline *d);
void mmf__mutex_unlock(mmf *ns);
/* Takes the mutex only if free, and repairs; for readers that found a slot
   claimed by a dead structural writer. Never waits. */
void mmf__recover_try(mmf *ns);

/* claim.c: waiting for a slot's claim (up to the handle's timeout), taking
   over a dead writer's */
int mmf__claim(mmf *ns, struct mmf_slot *s, uint64_t token);
/* A reader's answer to a slot stuck odd (index.h, mmfi_stall). */
struct mmf_read_ctx {
    mmf *ns;
    uint64_t started_ns;
    int err;
};
int mmf__read_stall(void *ctx, struct mmf_slot *s, uint64_t spins);
#define MMF_READ_STALL(name, handle)                                                               \
    struct mmf_read_ctx name##_ctx = {(handle), 0, 0};                                             \
    mmfi_stall name = {mmf__read_stall, &name##_ctx}
/* Ends the odd gen of a slot whose writer died (claim held by the caller). */
void mmf__finish_dead_write(struct mmf_slot *s);
void mmf__wake_slot(struct mmf_slot *s);
void mmf__wake_struct(mmf *ns);

/* recover.c: with the mutex held */
int mmf__recover(mmf *ns);
/* Live blocks of every slot, in slot order, for mmfa_rebuild and the leak
   check: an mmfa_live_fn over a cursor that starts as {.t = table}. */
struct mmf_live_cursor {
    const struct mmfi_table *t;
    uint64_t pos; /* next index entry to look at */
    uint64_t off[3];
    unsigned order[3];
    int n, next; /* blocks of the current slot, and the next one to yield */
    int err;     /* MMF_ECORRUPT if a slot's blocks are out of bounds */
};
int mmf__live_blocks(void *cursor, uint64_t i, uint64_t *off, unsigned *order);

/* slots.c: with the mutex held */
int mmf__slot_alloc(mmf *ns, uint64_t *slot);
void mmf__slot_free(mmf *ns, uint64_t slot);
/* The free-slot chain from the index; MMF_ECORRUPT if an entry names a slot
   out of range or one named by another entry. */
int mmf__slots_rebuild(mmf *ns);

/* validate.c */
int mmf__check_key(const char *key, size_t *klen);
int mmf__check_name(const char *name);
int mmf__map_index_rc(int rc);

#endif
