/*
 * The operating-system calls mmf makes, behind one small interface: clocks and
 * deadlines, futexes, process identity and liveness. Everything returns int or
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

/* This process's claim token: pid | low 32 bits of its start time << 32. */
uint64_t mmf__process_token(void);

/* Whether the process a token names still runs (a reused pid is not it). */
bool mmf__token_alive(uint64_t token);

/* Backs off politely: pause, then yield the CPU. */
void mmf__backoff(uint64_t round);

uint64_t mmf__now_ns(void);

#endif
