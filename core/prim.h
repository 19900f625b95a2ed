/*
 * The operating-system calls mmf makes, behind one small interface: clocks and
 * deadlines, futexes, file locks, process identity. Everything returns int or
 * a plain value; errno is kept for MMF_ESYS.
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
/* 1 only if the process who names is certainly gone: it lived in our PID
   namespace (me, read now; one whose /proc is ours) and its pid is free, or
   a zombie with no live thread. 0 when alive or when it cannot be told. */
int mmf__proc_gone(const mmf_proc_id *who, const mmf_proc_id *me);

/* Backs off politely: pause, then yield the CPU, then sleep longer and
   longer. */
void mmf__backoff(uint64_t round);

uint64_t mmf__now_ns(void);

#endif
