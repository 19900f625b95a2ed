/*
 * mmf — named variables shared between processes through a memory-mapped
 * namespace, with lock-free reads.
 *
 * A namespace is one POSIX shared-memory object (/dev/shm/NAME) or one backing
 * file. Every process that opens it gets a view (an `mmf *`); a variable set
 * through one view is visible through every other at once.
 *
 * Reads (mmf_get, mmf_get_v, mmf_get_tagged, mmf_exists, mmf_foreach) never
 * lock, never make a system call and never write to shared memory, with two
 * exceptions that only a crash or a stalled writer brings about:
 *  - a read that meets a variable in the middle of a write spins briefly; if
 *    the writer has died, a read-write handle finishes what it left (the
 *    variable keeps its old or its new value, whole) and a read-only handle
 *    reads the whole value it left without writing anything;
 *  - if the writer is alive but stopped (SIGSTOP, a debugger, descheduled
 *    for long), the read waits for it, up to the handle's timeout, and then
 *    returns MMF_ETIMEDOUT (with timeout 0 it waits for as long as it takes).
 * Overwriting a variable with a value that fits its block takes no namespace
 * mutex. Everything that allocates (a new variable, a delete, a value that
 * needs a bigger block) runs under the namespace's robust mutex.
 *
 * Whether a writer has died is never guessed: every read-write handle holds
 * a lock the kernel releases when its process exits (before it is a zombie,
 * whatever PID namespace it lives in), and a writer is dead exactly when that
 * lock is free.
 *
 * Every function returns MMF_OK (0) or a negative MMF_E* code; mmf_exists
 * also returns 1. mmf_strerror() names every code. Bad arguments change
 * nothing.
 *
 * Threads may share one handle. A forked child may use its parent's handles
 * (it registers as a process of its own the first time it writes). The
 * namespace lock taken with mmf_lock() belongs to the calling thread, through
 * any handle of its process.
 */
#ifndef MMF_H
#define MMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* MMF_VERSION_MAJOR, _MINOR, _PATCH and MMF_VERSION_STRING ("0.1.0"),
   generated from the build's project(mmf VERSION ...) */
#include "mmf_version.h"

/* Marks the library's public functions: the library is built with
   -fvisibility=hidden, so these are its only symbols of default visibility
   (the only ones a shared object linked from it exports). */
#if defined(__GNUC__) || defined(__clang__)
#define MMF_API __attribute__((visibility("default")))
#else
#define MMF_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version string, e.g. "0.1.0". */
MMF_API const char *mmf_version(void);

typedef struct mmf mmf; /* opaque: one process's view of a namespace */

enum { /* every function returns one of these; 0 = success */
       MMF_OK = 0,
       MMF_ENOTFOUND = -1,  /* no such variable */
       MMF_ENOENT = -2,     /* no such namespace (reuse / attach-only) */
       MMF_EEXIST = -3,     /* namespace already exists (exclusive creation) */
       MMF_ENOSPC = -4,     /* heap or index full: nothing was changed */
       MMF_ETIMEDOUT = -5,  /* the namespace lock was not had within the timeout */
       MMF_ERANGE = -6,     /* caller's buffer too small; *len says how much is needed */
       MMF_EINVAL = -7,     /* bad argument (NULL, bad name, key too long, ...) */
       MMF_ECORRUPT = -8,   /* the mapping failed validation */
       MMF_EVERSION = -9,   /* the namespace has another layout version */
       MMF_ECONFLICT = -10, /* compare-and-set: version did not match */
       MMF_EPERM = -11,     /* permission denied by the OS */
       MMF_ENOLOCK = -12,   /* autolock is off and the caller does not hold the lock */
       MMF_ESYS = -13,      /* other OS error; errno is kept */
       MMF_ENOMEM = -14,    /* this process ran out of memory; nothing changed */
};

/* A short English description of an MMF_E* code, strerror() of a positive
   errno value, "unknown error" otherwise. */
MMF_API const char *mmf_strerror(int err);

#define MMF_KEY_MAX 255              /* longest key, in bytes */
#define MMF_NAME_MAX 200             /* longest namespace name */
#define MMF_VALUE_MAX 0xffffffffu    /* longest value, in bytes (the heap is usually the limit) */
#define MMF_DEFAULT_SIZE (64u << 10) /* where a namespace created with size 0 starts */
#define MMF_DEFAULT_MAX_SIZE (1ull << 30) /* how far one created with max_size 0 may grow */

typedef struct mmf_options {
    const char *name;  /* required: 1..200 chars of [A-Za-z0-9._-], e.g. "MyApp.SharedMemory";
                          not starting with '.', never containing ".." */
    const char *path;  /* backing file (the "swapfile"); NULL = POSIX shared memory */
    uint64_t size;     /* bytes committed at creation; 0 = MMF_DEFAULT_SIZE. Only a start:
                          the namespace grows on demand up to max_size */
    uint32_t max_vars; /* variables room is made for at creation; 0 = one per 2 KiB of size
                          (at least 16). Only a start, as size */
    bool reuse;        /* attach to an existing namespace only; MMF_ENOENT if none */
    bool exclusive;    /* create a new namespace only; MMF_EEXIST if it exists */
    bool autolock;     /* default true */
    double timeout;    /* seconds a call waits for the namespace lock, for another writer of
                          the same variable, or for a writer stopped mid-write; default 10;
                          0 = forever */
    uint32_t mode;     /* permission bits when creating; default (and 0) 0600 */
    bool debug;        /* diagnostics to stderr */
    uint64_t max_size; /* used when creating: bytes the namespace may ever commit (its memory
                          on /dev/shm, or disk); 0 = MMF_DEFAULT_MAX_SIZE, or size if larger.
                          Past it a write returns MMF_ENOSPC and changes nothing; a nonzero
                          max_size below size is MMF_EINVAL. The file is as long as
                          max_size needs (about twice it) but sparse, and every handle maps
                          all of it: address space, not memory */
    bool readonly;     /* attach read-only (O_RDONLY, PROT_READ): reads work and never write
                          to the mapping; every write, mmf_lock and mmf_check return MMF_EPERM.
                          Needs only read permission. Never creates (MMF_ENOENT if absent) */
    bool transient;    /* removed when the last process using it closes it or dies: one found
                          with no live process attached is absent (created afresh, or
                          MMF_ENOENT with reuse) */
    double spin;       /* seconds mmf_wait and mmf_var_wait poll (one core busy) before they
                          sleep on a futex; 0 = sleep at once */
} mmf_options;
#ifdef __cplusplus
#define MMF_OPTIONS_INIT                                                                           \
    { nullptr, nullptr, 0, 0, false, false, true, 10.0, 0600, false, 0, false, false, 0.0 }
#else
#define MMF_OPTIONS_INIT                                                                           \
    { .autolock = true, .timeout = 10.0, .mode = 0600 }
#endif

/*
 * Opens (or creates) the namespace described by opt and returns a view in
 * *out. Any number of processes may open-or-create the same namespace at
 * once: exactly one creates it, and nobody ever sees it half initialised.
 * Opening never waits for the namespace lock.
 * An existing object is trusted only if it is a regular file, not writable by
 * others unless it is the caller's own, as large as its header says, and its
 * header validates.
 * Errors: MMF_EINVAL (bad options), MMF_ENOENT (reuse and none exists),
 * MMF_EEXIST (exclusive and one exists), MMF_ECORRUPT, MMF_EVERSION,
 * MMF_EPERM, MMF_ENOSPC (no room in /dev/shm or on the file system), MMF_ESYS.
 */
MMF_API int mmf_open(const mmf_options *opt, mmf **out);

/*
 * mmf_open with the options as text, for configuration files and the command
 * line: "name=MyApp.Data size=2M path=data.swp reuse=1 autolock=0 timeout=10
 * mode=0600 max_vars=1000". Keys are case-insensitive with an optional
 * leading '-' (also namespace= and swapfile=), separated by spaces or commas;
 * sizes take K/M/G; booleans are 1/0, true/false, yes/no, on/off; mode is
 * octal. Errors: as mmf_open; MMF_EINVAL for an unknown key or a bad value.
 */
MMF_API int mmf_open_spec(const char *spec, mmf **out);

/* Parses a spec as mmf_open_spec does, into *opt (starting from
   MMF_OPTIONS_INIT) without opening anything. The strings in *opt point into
   buf (bufsize bytes, at least strlen(spec) + 1), which the caller keeps.
   MMF_EINVAL for an unknown key, a bad value or a spec longer than buf. */
MMF_API int mmf_parse_spec(const char *spec, mmf_options *opt, char *buf, size_t bufsize);

/* Parses a size as a spec's size= and max_size= take it: decimal digits, then
   an optional K, M or G (any case: times 2^10, 2^20, 2^30) and an optional B,
   e.g. "65536", "640K", "2M", "1GB". MMF_EINVAL (and *out unchanged) for
   anything else, or a size over UINT64_MAX. */
MMF_API int mmf_parse_size(const char *s, uint64_t *out);

/* Unmaps the view and frees the handle; the namespace and its variables stay.
   A lock still held by the calling thread is released. */
MMF_API int mmf_close(mmf *ns);

/* Removes the namespace: the backing file path, or with path NULL the POSIX
   shared-memory object NAME (name may be NULL when path is given). Views
   already open keep working until closed. MMF_ENOENT if there is none. */
MMF_API int mmf_unlink(const char *name, const char *path);

/*
 * Variables. Keys: NUL-terminated, 1..MMF_KEY_MAX bytes. Values: any bytes,
 * length 0 allowed (the variable keeps its name and holds no memory).
 */

/* Sets key to len bytes at val (val may be NULL when len is 0). A value that
   fits the variable's block is written in place without the namespace mutex.
   May block: for the namespace mutex (another process's structural write or
   mmf_lock) and for another writer of the same variable, each up to the
   handle's timeout. Errors: MMF_EINVAL, MMF_ENOSPC (nothing changed),
   MMF_ETIMEDOUT, MMF_ENOLOCK (autolock off and the lock is not held),
   MMF_EPERM (a read-only handle), MMF_ECORRUPT, MMF_ENOMEM. The write
   functions below (cas, add, delete, the tagged ones) block and fail alike. */
MMF_API int mmf_set(mmf *ns, const char *key, const void *val, size_t len);

/* Copies the value into buf (cap bytes) and its length into *len.
   MMF_ERANGE if cap is too small (*len is then the length needed; buf may be
   NULL when cap is 0). MMF_ENOTFOUND if there is no such variable.
   MMF_ETIMEDOUT if a writer of this variable stopped mid-write for longer
   than the handle's timeout (see the top of this file), MMF_ECORRUPT if the
   variable's slot points outside the namespace, MMF_EINVAL. On any answer
   but MMF_OK the contents of buf are unspecified (a read that met a write
   may have copied into it before it looked again). The other reads
   (mmf_get_v, mmf_get_tagged, mmf_exists, mmf_foreach) give the same. */
MMF_API int mmf_get(mmf *ns, const char *key, void *buf, size_t cap, size_t *len);

/* Removes the variable. MMF_ENOTFOUND if there is none. */
MMF_API int mmf_delete(mmf *ns, const char *key);

/* 1 if the variable exists, 0 if not, or an error (<0). */
MMF_API int mmf_exists(mmf *ns, const char *key);

/*
 * The namespace lock. While a thread holds it, writes from every other thread
 * and process wait (up to their timeout); reads go on. mmf_lock returns only
 * once writes already under way elsewhere have finished. The lock is
 * recursive for its holder; a holder that dies releases it, and the next
 * process to lock repairs what the dead one left half done (counted in
 * mmf_stats.lock_recoveries).
 * mmf_lock: timeout in seconds, 0 = forever; MMF_OK or MMF_ETIMEDOUT
 * (MMF_EPERM on a read-only handle).
 * mmf_unlock: MMF_ENOLOCK if the calling thread does not hold the lock.
 */
MMF_API int mmf_lock(mmf *ns, double timeout);
MMF_API int mmf_unlock(mmf *ns);

/* Writes the header, the heap (blocks, free lists) and the variable table to
   out, as text, holding the namespace mutex while it writes to out (so keep
   out fast: a pipe nobody reads stalls every structural write). A read-only
   handle cannot take the mutex: it writes a snapshot taken while writers go
   on. MMF_ETIMEDOUT if the mutex was not had in the handle's timeout. */
MMF_API int mmf_dump(mmf *ns, FILE *out);

/*
 * Versions: every variable carries a 64-bit version that changes on every
 * write and never repeats for a key, even across delete and re-create. A
 * missing variable has version 0.
 */

/* mmf_get that also returns the version of the value it copied. */
MMF_API int mmf_get_v(mmf *ns, const char *key, void *buf, size_t cap, size_t *len,
                      uint64_t *version);

/* Sets key only if its version is expected_version (0: only if missing).
   MMF_ECONFLICT otherwise, changing nothing. */
MMF_API int mmf_cas(mmf *ns, const char *key, uint64_t expected_version, const void *val,
                    size_t len);

/* Value tags shared by every binding: Perl's Storable values, Python's
   pickles and UTF-8 text are marked so that no binding mistakes them for
   plain bytes. */
enum {
    MMF_TAG_BYTES = 0,
    MMF_TAG_STORABLE = 1,
    MMF_TAG_STORABLE_LIST = 2,
    MMF_TAG_TEXT = 3,   /* UTF-8 text */
    MMF_TAG_PICKLE = 4, /* Python pickle */
};

/*
 * Tags: one byte kept with a variable's value and replaced with it by every
 * write (mmf_set, mmf_cas and mmf_add_i64 write tag 0). A binding marks the
 * values it serialised with a tag of its own, so that plain bytes are never
 * taken for serialised ones; programs that ignore tags see the bytes.
 */
MMF_API int mmf_set_tagged(mmf *ns, const char *key, const void *val, size_t len, uint8_t tag);
MMF_API int mmf_cas_tagged(mmf *ns, const char *key, uint64_t expected_version, const void *val,
                           size_t len, uint8_t tag);
/* mmf_get_v that also returns the tag of the value it copied. */
MMF_API int mmf_get_tagged(mmf *ns, const char *key, void *buf, size_t cap, size_t *len,
                           uint64_t *version, uint8_t *tag);

/* Atomically adds delta to the native-endian int64_t in key (a missing
   variable counts as 0 and is created) and stores the sum in *result (may be
   NULL). MMF_EINVAL if the variable's length is not 8. */
MMF_API int mmf_add_i64(mmf *ns, const char *key, int64_t delta, int64_t *result);

/* Returns once the version of key differs from version, including by its
   creation or deletion: at once if it already does. timeout in seconds, 0 =
   forever. For the handle's `spin` seconds it spins watching the variable's
   generation word (the header's change counter while it is missing), one
   core busy; then it sleeps on a futex that every write wakes; it also
   looks again every 0.2 s, so a writer that died before waking anyone costs
   at most that. A read-only handle cannot ask
   writers to wake it: it looks every few milliseconds (at most 5 ms late).
   MMF_OK, MMF_ETIMEDOUT, MMF_EINVAL, MMF_ECORRUPT. */
MMF_API int mmf_wait(mmf *ns, const char *key, uint64_t version, double timeout);

/*
 * Variable handles: a key resolved once. Each access through a handle is one
 * read (or in-place write) of the variable's slot under its generation
 * counter: no hashing, no probing. A handle behaves exactly as the by-name
 * call on its key would at that moment, also after the variable was
 * deleted, created again (with another size, in another slot), or moved:
 * every slot carries an incarnation that changes whenever it is freed or
 * reused, the handle checks it on every access, and on a mismatch (or while
 * the variable is missing) it looks the key up by name again. A handle never
 * returns another variable's value.
 * Handles belong to the process that opened them (they live in its memory,
 * not in the mapping); threads may share one. A handle must be closed
 * before its namespace is.
 */
typedef struct mmf_var mmf_var;

/* Opens a handle on key in ns (and looks the key up once); the variable
   need not exist (a get then returns MMF_ENOTFOUND, a set creates it, a
   wait waits for its creation). *out is NULL on error. MMF_EINVAL (bad
   arguments: ns, key or out), MMF_ENOMEM. */
MMF_API int mmf_var_open(mmf *ns, const char *key, mmf_var **out);

/* Frees the handle (NULL is allowed); the variable stays. */
MMF_API void mmf_var_close(mmf_var *var);

/* mmf_get_v on the handle's key; version may be NULL. */
MMF_API int mmf_var_get(mmf_var *var, void *buf, size_t cap, size_t *len, uint64_t *version);

/* mmf_set, mmf_cas, mmf_add_i64 on the handle's key: the same in-place path
   (the slot's claim, the explicit lock word, the spare buffer) without the
   lookup, and the same structural path when the value needs other space or
   the variable is missing. */
MMF_API int mmf_var_set(mmf_var *var, const void *val, size_t len);
MMF_API int mmf_var_cas(mmf_var *var, uint64_t expected_version, const void *val, size_t len);
MMF_API int mmf_var_add_i64(mmf_var *var, int64_t delta, int64_t *result);

/* mmf_wait on the handle's key. While it spins (the namespace's `spin`
   seconds) it watches the one generation word of the variable's slot, so a
   change is seen within the time a cache line takes to cross cores; then it
   sleeps exactly as mmf_wait does. */
MMF_API int mmf_var_wait(mmf_var *var, uint64_t version, double timeout);

/* Calls fn for every variable with a consistent copy of it, without locking.
   key and val point into buffers of mmf_foreach's own, valid only during
   that call of fn. Variables set or deleted during the walk may or may not be
   seen. A non-zero return from fn stops the walk and is returned. */
typedef int (*mmf_visit_fn)(const char *key, const void *val, size_t len, uint64_t version,
                            void *ctx);
MMF_API int mmf_foreach(mmf *ns, mmf_visit_fn fn, void *ctx);

/* size: bytes committed now (it grows); heap_size: the heap's part of it;
   max_vars: variables there are slots for now (it grows too) */
typedef struct mmf_stats {
    uint64_t size, heap_size, heap_used, heap_free, largest_free_block;
    uint64_t vars, max_vars, tombstones;
    uint64_t lock_acquisitions, lock_recoveries;
    uint64_t attached;        /* processes that have the namespace open read-write now */
    uint64_t grows;           /* times the namespace grew: its slots, heap or index */
    uint64_t index_rebuilds;  /* online index rebuilds (growth, or compaction of tombstones) */
    uint64_t claim_takeovers; /* slot claims taken from a writer that had died */
} mmf_stats;

/* Sizes and counters, read without locking (a snapshot, not a transaction).
   attached comes from the registrations (mmf_attached). */
MMF_API int mmf_stat(mmf *ns, mmf_stats *st);

/* The processes that have the namespace open read-write now, one each (a
   process with two handles counts once): their number in *count, and the
   pid each recorded when it attached in pids[0 .. min(count, cap)) (pids may
   be NULL when cap is 0). A process that died stops counting at once, reaped
   or not. Read-only handles are not registered and do not count. */
MMF_API int mmf_attached(mmf *ns, int32_t *pids, size_t cap, size_t *count);

/* Walks index and heap under the namespace lock: every slot's offsets in
   bounds, every block either free or owned by exactly one variable, free lists
   whole, counters right; repairs what a dead process left first. Writes what
   it finds to report (may be NULL), holding the mutex meanwhile. MMF_OK or
   MMF_ECORRUPT (or MMF_ETIMEDOUT; MMF_EPERM on a read-only handle). */
MMF_API int mmf_check(mmf *ns, FILE *report);

#ifdef __cplusplus
}
#endif

#endif /* MMF_H */
