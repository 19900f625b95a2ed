/* Shared by the CUnit test programs: suite registration, unique names,
   opening namespaces, checking a value, values that show a torn read, the
   clock, and child processes that report through their exit status. */
#ifndef MMF_TESTUTIL_H
#define MMF_TESTUTIL_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mmf.h"

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

/* Runs the tests as one suite; the exit status is the number of failures.
   MMF_TEST_FILTER=TEXT runs only the tests whose name holds TEXT. */
static inline int run_suite(const char *suite, const test_case *tests) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    const char *only = getenv("MMF_TEST_FILTER");
    for (const test_case *t = tests; t->name; t++)
        if (!only || strstr(t->name, only)) CU_add_test(s, t->name, t->fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

/* A count the soak (tests/soak.sh) raises through the environment. */
static inline long soak_count(const char *env, long dflt) {
    const char *v = getenv(env);
    long n = v ? atol(v) : 0;
    return n > 0 ? n : dflt;
}

/* A namespace name no other test run uses. */
static inline const char *unique_name(char *buf, size_t n, const char *what) {
    static unsigned counter;
    snprintf(buf, n, "mmf-test.%s.%d.%u", what, (int)getpid(), counter++);
    return buf;
}

/* Opens what o says; NULL after saying why on stderr. */
static inline mmf *open_or_say(const mmf_options *o) {
    mmf *ns = NULL;
    int rc = mmf_open(o, &ns);
    if (rc) fprintf(stderr, "open %s: %s\n", o->name, mmf_strerror(rc));
    return ns;
}

/* Opens a fresh namespace (removing a stale one of the same name). */
static inline mmf *fresh(const char *name, uint64_t size, uint32_t max_vars) {
    mmf_unlink(name, NULL);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.size = size;
    o.max_vars = max_vars;
    return open_or_say(&o);
}

/* As fresh, but a namespace that never grows (max_size = size): one that
   fills up answers MMF_ENOSPC. */
static inline mmf *fresh_fixed(const char *name, uint64_t size, uint32_t max_vars) {
    mmf_unlink(name, NULL);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.size = size;
    o.max_size = size;
    o.max_vars = max_vars;
    return open_or_say(&o);
}

/* Opens an existing namespace: read-only or read-write, with a timeout. */
static inline mmf *open_ns(const char *name, bool readonly, double timeout) {
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.reuse = true;
    o.readonly = readonly;
    o.timeout = timeout;
    return open_or_say(&o);
}

/* Asserts that key holds exactly the len bytes at val. */
static inline void expect_value(mmf *ns, const char *key, const void *val, size_t len) {
    char *buf = malloc(len + 1);
    size_t got = 12345;
    CU_ASSERT_EQUAL(mmf_get(ns, key, buf, len + 1, &got), MMF_OK);
    CU_ASSERT_EQUAL(got, len);
    CU_ASSERT(got == len && memcmp(buf, val, len) == 0);
    free(buf);
}

/* A value of len bytes (12 or more) that names its key and carries a
   sequence number and a checksum, so that a torn or misplaced read shows. */
static inline size_t make_value(unsigned char *v, uint32_t key, uint32_t seq, size_t len) {
    memcpy(v, &key, 4);
    memcpy(v + 4, &seq, 4);
    uint32_t sum = (uint32_t)len;
    for (size_t i = 12; i < len; i++) {
        v[i] = (unsigned char)(key * 7 + seq + i);
        sum = sum * 31 + v[i];
    }
    memcpy(v + 8, &sum, 4);
    return len;
}

/* Whether v is a whole value of key, as make_value made it. */
static inline int value_ok(const unsigned char *v, size_t len, uint32_t key) {
    if (len < 12) return 0;
    uint32_t k, stored, sum = (uint32_t)len;
    memcpy(&k, v, 4);
    memcpy(&stored, v + 8, 4);
    for (size_t i = 12; i < len; i++)
        sum = sum * 31 + v[i];
    return k == key && sum == stored;
}

/* CLOCK_MONOTONIC, in seconds. */
static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for a child; returns its exit status, or 100 + signal if killed. */
static inline int wait_child(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 100 + WTERMSIG(st);
}

/* In a child: exits 0 if cond holds, else prints where and exits 1. */
#define CHILD_REQUIRE(cond)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__, #cond);         \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

#endif
