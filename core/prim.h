/*
 * The one place mmf meets the operating system: files, mappings and links,
 * clocks and deadlines, futexes, file locks, process identity, sleeping. The
 * rest of the library makes no system call of its own. Every call that can
 * fail returns int, 0 or an MMF_E* code (errno is kept for MMF_ESYS), and
 * hands its results back through out-parameters; the others return a plain
 * value.
 */
#ifndef MMF_CORE_PRIM_H
#define MMF_CORE_PRIM_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "../common/atomics.h"

typedef struct mmf_deadline {
    bool forever;
    struct timespec at; /* CLOCK_MONOTONIC */
} mmf_deadline;

/* A deadline seconds from now; 0 = forever. */
void mmf__deadline_in(mmf_deadline *d, double seconds);
bool mmf__deadline_passed(const mmf_deadline *d);

/* The MMF_E* code for an errno value (MMF_ESYS for most; errno is kept). */
int mmf__errno_code(int e);

/* Files. Every descriptor is opened close-on-exec. */

/* What fstat or stat says of a file, as far as mmf needs it. */
typedef struct mmf_file_info {
    uint64_t dev, ino;
    uint64_t size;     /* in bytes */
    uint32_t uid;      /* the owner */
    bool regular;      /* a regular file */
    bool others_write; /* writable by others (S_IWOTH) */
} mmf_file_info;

/* Opens path read-write or read-only; with nofollow, a symlink at its end is
   refused (O_NOFOLLOW). */
int mmf__file_open(const char *path, bool rw, bool nofollow, int *fd);
/* Creates path read-write with mode 0600, failing with MMF_EEXIST if
   anything stands there (O_EXCL, not through a symlink). */
int mmf__file_create(const char *path, int *fd);
/* Opens the file fd has open afresh (through /proc/self/fd): a new open file
   description of it, read-write or read-only. */
int mmf__file_reopen(int fd, bool rw, int *nfd);
int mmf__file_info(int fd, mmf_file_info *info);
/* What path names, following symlinks (stat). */
int mmf__path_info(const char *path, mmf_file_info *info);
/* Sets the permission bits (fchmod). */
int mmf__file_chmod(int fd, uint32_t mode);
/* Makes the file size bytes long (ftruncate). */
int mmf__file_resize(int fd, uint64_t size);
/* Makes descriptor to name what from names (dup3, close-on-exec); from
   stays open. */
int mmf__file_dup_onto(int from, int to);
int mmf__file_close(int fd);
/* Links a new name to the file from names: MMF_EEXIST if to is taken. */
int mmf__link_new(const char *from, const char *to);
int mmf__unlink(const char *path);

/* Mappings. */

/* Maps the first size bytes of the file fd names, shared with every other
   process that maps it; readable, and writable if asked. */
int mmf__map_shared(int fd, uint64_t size, bool writable, void **base);
/* Maps size bytes of zeroed memory of this process's own. */
int mmf__map_private(uint64_t size, void **base);
int mmf__unmap(void *base, uint64_t size);
/* Asks that a forked child see [base, base + size) zeroed (MADV_WIPEONFORK):
   0, or an MMF_E* code where the kernel cannot. */
int mmf__wipe_on_fork(void *base, uint64_t size);

/* Sleeps while *word == expected, until woken or the deadline (NULL or
   forever = no limit). Returns 0 when woken or the value differed, or
   MMF_ETIMEDOUT. */
int mmf__futex_wait(mmf_a32 *word, uint32_t expected, const mmf_deadline *d);
void mmf__futex_wake_all(mmf_a32 *word);

/* Open-file-description locks on one byte of a file (registrations). */
/* Takes a lock without waiting: 0, 1 if another description holds one, or an MMF_E* code. */
int mmf__ofd_trylock(int fd, uint64_t byte, bool exclusive);
int mmf__ofd_unlock(int fd, uint64_t byte);
/* 1 if a description other than fd's holds a lock on the byte, 0 if none
   does, or an MMF_E* code. */
int mmf__ofd_held(int fd, uint64_t byte);

/* flock(2) on fd's open file description, without waiting: 0, 1 if another
   description holds a conflicting one, or an MMF_E* code. Unlike a write
   lock, LOCK_EX needs no write access. */
int mmf__flock_try(int fd, bool exclusive);
void mmf__flock_release(int fd);

/* Allocates [off, off + len) of the file fd names (posix_fallocate), so that
   touching it later cannot SIGBUS: MMF_ENOSPC if the filesystem is full.
   A filesystem that cannot allocate ahead is let be (0). */
int mmf__commit(int fd, uint64_t off, uint64_t len);

/* Who a process is, as its registration records it. */
typedef struct mmf_proc_id {
    uint32_t pid;
    uint32_t start; /* low 32 bits of its start time in clock ticks; 0 = unknown */
    uint32_t pidns; /* inode of its PID namespace; 0 = unknown, or /proc is not its */
} mmf_proc_id;
void mmf__proc_self(mmf_proc_id *me);
uint32_t mmf__pid(void);
/* The effective user id of this process. */
uint32_t mmf__euid(void);
/* 1 only if the process who names is certainly gone: it lived in our PID
   namespace (me, read now; one whose /proc is ours) and its pid is free, or
   a zombie with no live thread. 0 when alive or when it cannot be told. */
int mmf__proc_gone(const mmf_proc_id *who, const mmf_proc_id *me);

/* Yields the CPU to another thread. */
void mmf__yield(void);
void mmf__sleep_ns(long ns);
/* Backs off politely: pause, then yield the CPU, then sleep longer and
   longer. */
void mmf__backoff(uint64_t round);

/* Nanoseconds on the monotonic clock. */
uint64_t mmf__now_ns(void);
/* Nanoseconds since the epoch, on the wall clock (for people to read). */
uint64_t mmf__wall_ns(void);

#endif
