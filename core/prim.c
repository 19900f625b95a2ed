#include "prim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <stdlib.h>

#include "../common/layout.h"
#include "../include/mmf.h"

void mmf__deadline_in(mmf_deadline *d, double seconds) {
    d->forever = !(seconds > 0);
    clock_gettime(CLOCK_MONOTONIC, &d->at);
    if (d->forever) return;
    if (seconds > 1e9) seconds = 1e9;
    double whole = floor(seconds);
    d->at.tv_sec += (time_t)whole;
    d->at.tv_nsec += (long)((seconds - whole) * 1e9);
    if (d->at.tv_nsec >= 1000000000L) {
        d->at.tv_sec++;
        d->at.tv_nsec -= 1000000000L;
    }
}

bool mmf__deadline_passed(const mmf_deadline *d) {
    if (d->forever) return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > d->at.tv_sec || (now.tv_sec == d->at.tv_sec && now.tv_nsec >= d->at.tv_nsec);
}

uint64_t mmf__now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int mmf__errno_code(int e) {
    switch (e) {
    case EACCES:
    case EPERM:
    case EROFS:
        return MMF_EPERM;
    case ENOENT:
        return MMF_ENOENT;
    case EEXIST:
        return MMF_EEXIST;
    case ENOSPC:
    case ENOMEM:
    case EFBIG:
        return MMF_ENOSPC;
    case ENAMETOOLONG:
        return MMF_EINVAL;
    default:
        errno = e;
        return MMF_ESYS;
    }
}

int mmf__futex_wait(mmf_a32 *word, uint32_t expected, const mmf_deadline *d) {
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time; not PRIVATE:
       the word is shared between processes */
    const struct timespec *at = (d && !d->forever) ? &d->at : NULL;
    long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET, expected, at, NULL,
                      FUTEX_BITSET_MATCH_ANY);
    if (rc == -1 && errno == ETIMEDOUT) return MMF_ETIMEDOUT;
    return 0; /* woken, EAGAIN (value changed) or EINTR: the caller looks again */
}

void mmf__futex_wake_all(mmf_a32 *word) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
static bool start_time(int pid, uint64_t *out) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) return false;
    p++;
    for (int field = 2; field < 22 && p; field++) p = strchr(p + 1, ' ');
    if (!p) return false;
    *out = strtoull(p + 1, NULL, 10);
    return true;
}

uint64_t mmf__process_token(void) {
    int pid = getpid();
    uint64_t st = 0;
    start_time(pid, &st);
    return ((uint64_t)pid & 0x7fffffffu) | ((st & 0xffffffffu) << 32);
}

bool mmf__token_alive(uint64_t token) {
    int pid = OWNER_PID(token);
    if (pid <= 0) return false;
    if (kill(pid, 0) == -1 && errno == ESRCH) return false;
    uint64_t st;
    if (!start_time(pid, &st)) return kill(pid, 0) == 0 || errno != ESRCH;
    return (st & 0xffffffffu) == (token >> 32); /* else the pid was reused */
}

void mmf__backoff(uint64_t round) {
    if (round < 64) {
        cpu_relax();
    } else if (round < 4096) {
        sched_yield();
    } else {
        struct timespec ts = {0, 50000}; /* 50 us: the owner is descheduled */
        nanosleep(&ts, NULL);
    }
}
