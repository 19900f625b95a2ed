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
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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
    return now.tv_sec > d->at.tv_sec ||
           (now.tv_sec == d->at.tv_sec && now.tv_nsec >= d->at.tv_nsec);
}

uint64_t mmf__now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint64_t mmf__wall_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
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
    case EFBIG:
        return MMF_ENOSPC;
    case ENOMEM:
        return MMF_ENOMEM;
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

int mmf__ofd_trylock(int fd, uint64_t byte, bool exclusive) {
    struct flock fl = {.l_type = exclusive ? F_WRLCK : F_RDLCK,
                       .l_whence = SEEK_SET,
                       .l_start = (off_t)byte,
                       .l_len = 1};
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
    if (errno == EAGAIN || errno == EACCES) return 1;
    return mmf__errno_code(errno);
}

int mmf__flock_try(int fd, bool exclusive) {
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return 0;
    return errno == EWOULDBLOCK ? 1 : mmf__errno_code(errno);
}

void mmf__flock_release(int fd) {
    flock(fd, LOCK_UN);
}

int mmf__ofd_unlock(int fd, uint64_t byte) {
    struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = (off_t)byte, .l_len = 1};
    return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : mmf__errno_code(errno);
}

int mmf__ofd_held(int fd, uint64_t byte) {
    /* a write lock conflicts with any lock another description holds */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)byte, .l_len = 1};
    if (fcntl(fd, F_OFD_GETLK, &fl) == -1) return mmf__errno_code(errno);
    return fl.l_type != F_UNLCK;
}

/* Fields 1 (pid), 3 (state) and 22 (start time, clock ticks since boot) of
   /proc/PID/stat; field 2, the command, may hold spaces and parentheses, so
   the fields after it are counted from its last ')'. */
static bool proc_stat(const char *path, uint64_t *pid, char *state, uint64_t *start) {
    char buf[1024];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ') return false;
    *pid = strtoull(buf, NULL, 10);
    *state = p[2];
    p++;
    for (int field = 3; field <= 22; field++) { /* p is at the space before field */
        if (*p != ' ') return false;
        if (field == 22) break;
        p = strchr(p + 1, ' ');
        if (!p) return false;
    }
    char *end;
    *start = strtoull(p + 1, &end, 10);
    return end != p + 1;
}

static uint32_t pid_namespace(void) {
    char link[64];
    ssize_t n = readlink("/proc/self/ns/pid", link, sizeof link - 1);
    if (n <= 0) return 0;
    link[n] = '\0';
    unsigned long long ino = 0;
    return sscanf(link, "pid:[%llu]", &ino) == 1 ? (uint32_t)ino : 0;
}

/* The value after "Name:" on the line of /proc/.../status that starts with
   it, whole (a line cut short by a read is never taken), in buf. The file
   can be long: Groups: alone may hold hundreds of ids. */
static bool status_field(const char *path, const char *name, char *buf, size_t cap) {
    FILE *f = fopen(path, "re");
    if (!f) return false;
    char *line = NULL;
    size_t size = 0, n = strlen(name);
    bool found = false;
    for (ssize_t len; !found && (len = getline(&line, &size, f)) > 0;) {
        if (strncmp(line, name, n) != 0 || line[len - 1] != '\n') continue;
        line[len - 1] = '\0';
        snprintf(buf, cap, "%s", line + n);
        found = true;
    }
    free(line);
    fclose(f);
    return found;
}

/* Whether /proc is our PID namespace's: then its NStgid line for ourselves
   holds one pid, ours (a /proc of an ancestor namespace lists ours there
   too, after the pid it knows us by). */
static bool proc_is_ours(uint32_t pid) {
    char v[256];
    unsigned long first = 0, second = 0;
    return status_field("/proc/self/status", "NStgid:", v, sizeof v) &&
           sscanf(v, "%lu %lu", &first, &second) == 1 && first == pid;
}

void mmf__proc_self(mmf_proc_id *me) {
    uint64_t pid = 0, start = 0;
    char state;
    me->pid = (uint32_t)getpid();
    me->pidns = proc_is_ours(me->pid) ? pid_namespace() : 0;
    /* the start time tells two processes of one pid apart (the explicit
       lock's holder); it is never compared across processes' clocks */
    me->start =
        proc_stat("/proc/self/stat", &pid, &state, &start) && pid == me->pid ? (uint32_t)start : 0;
}

/* Whether pid is a zombie with no live thread: its status says "State: Z"
   (or X) and "Threads: 1". A leader that called pthread_exit shows Z too,
   while its other threads run; they count in Threads, which only drops as
   each is released and rises before a new one runs, so it never reads 1
   while any thread of the process lives. */
static bool zombie(uint32_t pid) {
    char path[64], state[64], threads[64];
    snprintf(path, sizeof path, "/proc/%u/status", pid);
    char st = 0;
    unsigned long count = 0;
    char *end;
    if (!status_field(path, "State:", state, sizeof state) || sscanf(state, " %c", &st) != 1 ||
        !status_field(path, "Threads:", threads, sizeof threads))
        return false;
    count = strtoul(threads, &end, 10);
    return (st == 'Z' || st == 'X') && count == 1 && end != threads && *end == '\0';
}

int mmf__proc_gone(const mmf_proc_id *who, const mmf_proc_id *me) {
    /* only in our PID namespace, with a /proc of it, does a pid name it */
    if (!who->pid || !who->pidns || who->pidns != me->pidns) return 0;
    if (kill((pid_t)who->pid, 0) == -1 && errno == ESRCH) return 1;
    /* a pid reused since is taken for it, alive: the safe side */
    return zombie(who->pid);
}

void mmf__backoff(uint64_t round) {
    if (round < 64) {
        cpu_relax();
    } else if (round < 4096) {
        sched_yield();
    } else {
        /* the other side is descheduled or stopped: sleep, longer and longer
           (50 us to 1.6 ms), so that a long wait costs no CPU */
        uint64_t steps = (round - 4096) / 256;
        struct timespec ts = {0, 50000L << (steps < 5 ? steps : 5)};
        nanosleep(&ts, NULL);
    }
}

int mmf__commit(int fd, uint64_t off, uint64_t len) {
    if (len == 0) return 0;
    int rc = posix_fallocate(fd, (off_t)off, (off_t)len);
    if (rc == EOPNOTSUPP || rc == EINVAL) return 0; /* the filesystem cannot: as before growth */
    return rc ? mmf__errno_code(rc) : 0;
}

int mmf__file_open(const char *path, bool rw, bool nofollow, int *fd) {
    int flags = (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
    int f = open(path, flags);
    if (f < 0) return mmf__errno_code(errno);
    *fd = f;
    return 0;
}

int mmf__file_create(const char *path, int *fd) {
    int f = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0) return mmf__errno_code(errno);
    *fd = f;
    return 0;
}

int mmf__file_reopen(int fd, bool rw, int *nfd) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    /* no O_NOFOLLOW: the /proc link is what leads to the file */
    int f = open(proc, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (f < 0) return mmf__errno_code(errno);
    *nfd = f;
    return 0;
}

static void file_info(const struct stat *st, mmf_file_info *info) {
    info->dev = (uint64_t)st->st_dev;
    info->ino = (uint64_t)st->st_ino;
    info->size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
    info->uid = (uint32_t)st->st_uid;
    info->regular = S_ISREG(st->st_mode);
    info->others_write = (st->st_mode & S_IWOTH) != 0;
}

int mmf__file_info(int fd, mmf_file_info *info) {
    struct stat st;
    if (fstat(fd, &st) == -1) return mmf__errno_code(errno);
    file_info(&st, info);
    return 0;
}

int mmf__path_info(const char *path, mmf_file_info *info) {
    struct stat st;
    if (stat(path, &st) == -1) return mmf__errno_code(errno);
    file_info(&st, info);
    return 0;
}

int mmf__file_chmod(int fd, uint32_t mode) {
    return fchmod(fd, (mode_t)mode) == -1 ? mmf__errno_code(errno) : 0;
}

int mmf__file_resize(int fd, uint64_t size) {
    return ftruncate(fd, (off_t)size) == -1 ? mmf__errno_code(errno) : 0;
}

int mmf__file_dup_onto(int from, int to) {
    return dup3(from, to, O_CLOEXEC) == -1 ? mmf__errno_code(errno) : 0;
}

int mmf__file_close(int fd) {
    return close(fd) == -1 ? mmf__errno_code(errno) : 0;
}

int mmf__link_new(const char *from, const char *to) {
    return link(from, to) == -1 ? mmf__errno_code(errno) : 0;
}

int mmf__unlink(const char *path) {
    return unlink(path) == -1 ? mmf__errno_code(errno) : 0;
}

int mmf__map_shared(int fd, uint64_t size, bool writable, void **base) {
    void *p = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return mmf__errno_code(errno);
    *base = p;
    return 0;
}

int mmf__map_private(uint64_t size, void **base) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return mmf__errno_code(errno);
    *base = p;
    return 0;
}

int mmf__unmap(void *base, uint64_t size) {
    return munmap(base, size) == -1 ? mmf__errno_code(errno) : 0;
}

int mmf__wipe_on_fork(void *base, uint64_t size) {
    return madvise(base, size, MADV_WIPEONFORK) == -1 ? mmf__errno_code(errno) : 0;
}

uint32_t mmf__pid(void) {
    return (uint32_t)getpid();
}

uint32_t mmf__euid(void) {
    return (uint32_t)geteuid();
}

void mmf__yield(void) {
    sched_yield();
}

void mmf__sleep_ns(long ns) {
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&ts, NULL);
}
