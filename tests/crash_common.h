/* Shared by the parts of test_crash and by test_grow: the state of a child
   process, seen without reaping it, and the CPU time spent. */
#ifndef MMF_TESTS_CRASH_COMMON_H
#define MMF_TESTS_CRASH_COMMON_H

#include <signal.h>
#include <sys/resource.h>

#include "testutil.h"

/* The state letter of /proc/PID/stat (R, S, T, Z, ...), or 0. */
static inline char proc_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/* Waits (up to 20 s) until pid is in state want; whether it got there. */
static inline int await_state(pid_t pid, char want) {
    for (int i = 0; i < 20000; i++) {
        if (proc_state(pid) == want) return 1;
        usleep(1000);
    }
    return 0;
}

/* CPU seconds this process has used (user + system). */
static inline double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static inline uint64_t takeovers(const char *name) {
    mmf *ns = open_ns(name, false, 5);
    mmf_stats st = {0};
    if (ns) mmf_stat(ns, &st);
    if (ns) mmf_close(ns);
    return st.claim_takeovers;
}

/* The parts of the suite besides the crash points. */
void test_live_writers_are_never_taken_over(void);
void test_lock_holder_sees_no_change_from_live_writers(void);
void test_stopped_writer_is_waited_for(void);
void test_stopped_writer_in_another_pid_namespace(void);
void test_zombie_writer(void);
void test_forked_child_keeps_no_parent_alive(void);
void test_dead_publisher_wakes_waiters(void);
void test_wait_after_read_through_sleeps(void);

#endif
