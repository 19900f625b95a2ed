/*
 * Running a workload: the processes are forked after the system is prepared;
 * each connects and prepares its role (a subscriber subscribes, mmf reads
 * the versions it will wait past), says so on a ready pipe, and waits at a
 * gate (a pipe the parent closes once every process is ready). Then they run
 * until their deadline and leave their counts and latency histogram in a
 * shared anonymous mapping. Nothing depends on which process the scheduler
 * runs first.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define STOP UINT64_MAX

uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* what reading the clock twice costs, taken off every latency */
static uint64_t clock_cost;

uint64_t measure_clock_cost(void) {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 100000; i++) {
        uint64_t t0 = now_ns(), t1 = now_ns();
        if (t1 - t0 < best) best = t1 - t0;
    }
    return clock_cost = best;
}

uint64_t latency_since(uint64_t t0) {
    uint64_t d = now_ns() - t0;
    return d > clock_cost ? d - clock_cost : 0;
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* one_op through a system's handles, by index (backend.h) */
static int one_op_at(const bench_backend *b, void *c, const bench_cfg *cfg, workload_kind kind,
                     int writer, uint64_t *rng, unsigned char *buf, size_t cap) {
    size_t len;
    unsigned i = (unsigned)(xorshift(rng) % cfg->keys), hot = cfg->keys;
    switch (kind) {
    case W_READ95:
    case W_READ50:
        if (xorshift(rng) % 100 < (kind == W_READ95 ? 5u : 50u)) {
            memcpy(buf, &i, sizeof i);
            return b->set_at(c, i, buf, cfg->value);
        }
        return b->get_at(c, i, buf, cap, &len);
    case W_HOT_KEY:
    case W_HOT_OTHERS:
        if (writer) {
            memcpy(buf, &i, sizeof i);
            return b->set_at(c, hot, buf, cfg->value);
        }
        return b->get_at(c, kind == W_HOT_KEY ? hot : i, buf, cap, &len);
    case W_COUNTERS:
        return b->incr_at(c, hot + 1 + i % 4);
    default:
        return b->get_at(c, i, buf, cap, &len) || len != cfg->value;
    }
}

/* One operation of a throughput role; returns its error. */
static int one_op(const bench_backend *b, void *c, const bench_cfg *cfg, workload_kind kind,
                  int writer, uint64_t *rng, unsigned char *buf, size_t cap) {
    if (b->get_at) return one_op_at(b, c, cfg, kind, writer, rng, buf, cap);
    char key[17];
    size_t len;
    unsigned i = (unsigned)(xorshift(rng) % cfg->keys);
    switch (kind) {
    case W_READ95:
    case W_READ50:
        bench_key(key, i);
        if (xorshift(rng) % 100 < (kind == W_READ95 ? 5u : 50u)) {
            memcpy(buf, &i, sizeof i);
            return b->set(c, key, buf, cfg->value);
        }
        return b->get(c, key, buf, cap, &len);
    case W_HOT_KEY:
    case W_HOT_OTHERS:
        if (writer) {
            memcpy(buf, &i, sizeof i);
            return b->set(c, "hot", buf, cfg->value);
        }
        if (kind == W_HOT_KEY) return b->get(c, "hot", buf, cap, &len);
        bench_key(key, i);
        return b->get(c, key, buf, cap, &len);
    case W_COUNTERS:
        snprintf(key, sizeof key, "counter.%u", i % 4);
        return b->incr(c, key);
    default:
        bench_key(key, i);
        return b->get(c, key, buf, cap, &len) || len != cfg->value;
    }
}

/* Unpaced, one operation in SAMPLE is timed (two clock reads cost more than
   a get here), and the clock is read for the deadline every SAMPLE ops;
   paced (--rate), every operation is timed from when it was due. */
#define SAMPLE 8u

static void throughput_role(const bench_backend *b, void *c, const bench_cfg *cfg,
                            workload_kind kind, int proc, uint64_t end, double rate,
                            proc_result *r) {
    unsigned char *buf = calloc(1, cfg->value + 64);
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(proc + 1), start = now_ns();
    int writer = (kind == W_HOT_KEY || kind == W_HOT_OTHERS) && proc == 0;
    r->measured = !writer;
    double interval = rate > 0 ? 1e9 / rate : 0;
    for (uint64_t n = 0;; n++) {
        if (rate > 0) {
            uint64_t due = start + (uint64_t)(interval * (double)n);
            sleep_until(due);
            if (now_ns() >= end) break;
            if (one_op(b, c, cfg, kind, writer, &rng, buf, cfg->value + 64)) r->errors++;
            hist_record(&r->h, latency_since(due));
        } else if (n % SAMPLE == 0) {
            uint64_t t0 = now_ns();
            if (t0 >= end) break;
            if (one_op(b, c, cfg, kind, writer, &rng, buf, cfg->value + 64)) r->errors++;
            hist_record(&r->h, latency_since(t0));
        } else if (one_op(b, c, cfg, kind, writer, &rng, buf, cfg->value + 64)) {
            r->errors++;
        }
        r->ops++;
    }
    r->seconds = (double)(now_ns() - start) / 1e9;
    free(buf);
}

static void pingpong_role(const bench_backend *b, void *c, int side, uint64_t end, proc_result *r) {
    uint64_t start = now_ns(), msg;
    r->measured = side == 0;
    if (side == 0) {
        for (uint64_t seq = 0; now_ns() < end; seq++) {
            uint64_t t0 = now_ns();
            if (b->send(c, 0, seq) || b->recv(c, 0, &msg) || msg != seq) {
                r->errors++;
                break;
            }
            hist_record(&r->h, latency_since(t0));
            r->ops++;
        }
        b->send(c, 0, STOP);
    } else {
        while (!b->recv(c, 1, &msg) && msg != STOP)
            if (b->send(c, 1, msg)) r->errors++;
    }
    r->seconds = (double)(now_ns() - start) / 1e9;
}

static void publish_role(const bench_backend *b, void *c, int proc, uint64_t end, proc_result *r) {
    uint64_t start = now_ns(), msg;
    r->measured = proc != 0;
    if (proc == 0) {
        /* the subscribers subscribed before the gate opened (prepare_role) */
        for (uint64_t due = now_ns(); due < end; due += 1000000u) { /* 1000 per second */
            sleep_until(due);
            if (b->publish(c, now_ns())) r->errors++;
            r->ops++;
        }
        b->publish(c, STOP);
    } else {
        while (!b->subscribe_next(c, &msg) && msg != STOP) {
            hist_record(&r->h, latency_since(msg)); /* from publication to wake-up */
            r->ops++;
        }
    }
    r->seconds = (double)(now_ns() - start) / 1e9;
}

static const char *unsupported(const bench_backend *b, workload_kind kind) {
    if (kind == W_PINGPONG) return b->send ? NULL : "no blocking receive";
    if (kind == W_PUBLISH) return b->publish ? NULL : "no notification of changes";
    return b->get || b->get_at ? NULL : "waiting workloads only";
}

/* What a process does before it reports ready: everything whose absence
   could lose the first message once another process starts. */
static int prepare_role(const bench_backend *b, void *c, workload_kind kind, int proc) {
    if (kind == W_PUBLISH && proc != 0 && b->subscribe) return b->subscribe(c);
    return 0;
}

/* Waits until each of n processes has written its byte to the ready pipe (or
   closed it by dying); a process stuck connecting for long is given up on,
   and the deadline below ends it. */
static void wait_ready(int fd, int n) {
    uint64_t give_up = now_ns() + 30000000000ull;
    for (int got = 0; got < n;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int left_ms = (int)((give_up - now_ns()) / 1000000u);
        if (now_ns() >= give_up || poll(&pfd, 1, left_ms) == 0) return;
        char ch;
        ssize_t k = read(fd, &ch, 1);
        if (k == 1)
            got++;
        else if (k == 0 || errno != EINTR)
            return; /* every child has closed it */
    }
}

void run_workload(const bench_backend *b, const bench_cfg *cfg, const workload *w, double seconds,
                  double rate, run_result *out) {
    memset(out, 0, sizeof *out);
    out->system = b->name;
    out->workload = w->name;
    out->kind = w->kind;
    out->procs = w->procs;
    const char *why = unsupported(b, w->kind);
    if (why) {
        out->skipped = 1;
        snprintf(out->why, sizeof out->why, "%s", why);
        return;
    }
    proc_result *res = mmap(NULL, sizeof(proc_result) * MAX_PROCS, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(res, 0, sizeof(proc_result) * MAX_PROCS);
    int gate[2], ready[2];
    if (pipe(gate) || pipe(ready)) abort();
    pid_t pids[MAX_PROCS];
    fflush(NULL);
    for (int p = 0; p < w->procs; p++) {
        if ((pids[p] = fork()) == 0) {
            close(gate[1]);
            close(ready[0]);
            void *c = b->connect(cfg);
            int ok = c && prepare_role(b, c, w->kind, p) == 0;
            char ch = ok ? 'r' : 'x';
            ok &= write(ready[1], &ch, 1) == 1;
            close(ready[1]);
            if (read(gate[0], &ch, 1) != 0 || !ok) {
                res[p].measured = 1; /* a process that could not take part fails the run */
                res[p].errors = 1;
                _exit(1);
            }
            uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
            if (w->kind == W_PINGPONG)
                pingpong_role(b, c, p, end, &res[p]);
            else if (w->kind == W_PUBLISH)
                publish_role(b, c, p, end, &res[p]);
            else
                throughput_role(b, c, cfg, w->kind, p, end, rate, &res[p]);
            b->disconnect(c);
            _exit(0);
        }
    }
    close(gate[0]);
    close(ready[1]);
    wait_ready(ready[0], w->procs); /* every process connected and prepared */
    close(ready[0]);
    close(gate[1]); /* go */
    /* a process stuck past its deadline (a peer that stopped answering) is
       ended, and its run counted as failed rather than waited for */
    uint64_t give_up = now_ns() + (uint64_t)((seconds + 10) * 1e9);
    int left = w->procs, killed = 0;
    while (left > 0) {
        for (int p = 0; p < w->procs; p++)
            if (pids[p] && waitpid(pids[p], NULL, WNOHANG) == pids[p]) pids[p] = 0, left--;
        if (left && !killed && now_ns() > give_up) {
            for (int p = 0; p < w->procs; p++)
                if (pids[p]) kill(pids[p], SIGKILL), res[p].errors++;
            killed = 1;
        }
        if (left) usleep(2000);
    }
    hist total;
    memset(&total, 0, sizeof total);
    for (int p = 0; p < w->procs; p++) {
        out->per[p] = res[p];
        if (!res[p].measured) continue;
        hist_merge(&total, &res[p].h);
        out->ops += res[p].ops;
        out->errors += res[p].errors;
        if (res[p].seconds > 0) out->ops_per_s += (double)res[p].ops / res[p].seconds;
    }
    out->p50 = hist_percentile(&total, 0.50);
    out->p90 = hist_percentile(&total, 0.90);
    out->p99 = hist_percentile(&total, 0.99);
    out->p999 = hist_percentile(&total, 0.999);
    out->max = total.max;
    munmap(res, sizeof(proc_result) * MAX_PROCS);
}
