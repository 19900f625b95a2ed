/*
 * mmf-demo: a short demonstration and benchmark across processes, on the
 * default POSIX shared-memory namespace. What it shows:
 *   1. one process fills a namespace; others see every variable at once;
 *   2. reader processes read random variables lock-free while a writer
 *      process rewrites a hot one in place: rates, latencies, and not one
 *      torn read (every value carries its key and a checksum);
 *   3. a process asleep in mmf_wait is woken by another's write: wake-up
 *      latency;
 *   4. processes incrementing one counter end exact;
 *   5. the namespace passes mmf_check.
 * Results travel back to the parent through the namespace itself.
 *
 * usage: mmf-demo [seconds per phase (default 1)] [reader processes (default 2)]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mmf.h"

#define NAME "mmf.demo"
#define VARS 100000
#define VALUE 64
#define SAMPLES 65536

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int rc) {
    fprintf(stderr, "mmf-demo: %s: %s\n", what, mmf_strerror(rc));
    exit(1);
}

static mmf *attach(void) {
    mmf *ns;
    int rc = mmf_open_spec("name=" NAME " reuse=1", &ns);
    if (rc) die("attach", rc);
    return ns;
}

static void key_of(char *key, uint32_t i) {
    snprintf(key, 17, "var:%012u", i); /* 16 bytes */
}

/* key index, a sequence number, a checksum of the rest */
static void make_value(unsigned char *v, uint32_t i, uint32_t seq) {
    memcpy(v, &i, 4);
    memcpy(v + 4, &seq, 4);
    uint32_t sum = 0;
    for (int b = 12; b < VALUE; b++) {
        v[b] = (unsigned char)(i * 31 + seq + (uint32_t)b);
        sum = sum * 131 + v[b];
    }
    memcpy(v + 8, &sum, 4);
}

static int value_ok(const unsigned char *v, size_t len, uint32_t i) {
    uint32_t k, stored, sum = 0;
    if (len != VALUE) return 0;
    memcpy(&k, v, 4);
    memcpy(&stored, v + 8, 4);
    for (int b = 12; b < VALUE; b++)
        sum = sum * 131 + v[b];
    return k == i && sum == stored;
}

struct quote {
    uint64_t seq;
    double bid, ask; /* ask = bid + 0.0001, always */
};

struct reader_result {
    uint64_t gets, bad, quotes, bad_quotes;
    uint64_t p50, p99, p999, max;
};

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *s, size_t n, double p) {
    return n ? s[(size_t)(p * (double)(n - 1))] : 0;
}

static void reader(int id, double seconds) {
    mmf *ns = attach();
    uint64_t *samples = malloc(SAMPLES * sizeof *samples);
    struct reader_result r = {0};
    size_t nsamples = 0;
    unsigned seed = (unsigned)id * 2654435761u;
    unsigned char v[VALUE];
    char key[17];
    uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
    while (now_ns() < end) {
        for (int batch = 0; batch < 256; batch++) {
            uint32_t i = (uint32_t)rand_r(&seed) % VARS;
            key_of(key, i);
            size_t len;
            int timed = (batch & 63) == 0 && nsamples < SAMPLES;
            uint64_t t0 = timed ? now_ns() : 0;
            int rc = mmf_get(ns, key, v, sizeof v, &len);
            if (timed) samples[nsamples++] = now_ns() - t0;
            r.gets++;
            if (rc != MMF_OK || !value_ok(v, len, i)) r.bad++;
        }
        struct quote q;
        size_t len;
        if (mmf_get(ns, "quote.EURUSD", &q, sizeof q, &len) == MMF_OK) {
            r.quotes++;
            if (len != sizeof q || q.ask - q.bid < 0.00009 || q.ask - q.bid > 0.00011)
                r.bad_quotes++;
        }
    }
    qsort(samples, nsamples, sizeof *samples, cmp_u64);
    r.p50 = pct(samples, nsamples, 0.5);
    r.p99 = pct(samples, nsamples, 0.99);
    r.p999 = pct(samples, nsamples, 0.999);
    r.max = nsamples ? samples[nsamples - 1] : 0;
    char rk[32];
    snprintf(rk, sizeof rk, "result.reader.%d", id);
    mmf_set(ns, rk, &r, sizeof r);
    mmf_close(ns);
    _exit(0);
}

static void quote_writer(void) {
    mmf *ns = attach();
    struct quote q = {0, 1.08, 1.0801};
    uint64_t writes = 0;
    for (;;) { /* until the parent stops it */
        q.seq++;
        q.bid = 1.08 + (double)(q.seq % 1000) * 1e-5;
        q.ask = q.bid + 0.0001;
        if (mmf_set(ns, "quote.EURUSD", &q, sizeof q) == MMF_OK) writes++;
        if ((writes & 1023) == 0) mmf_set(ns, "result.writer", &writes, sizeof writes);
    }
}

static void waiter(int rounds) {
    mmf *ns = attach();
    uint64_t *lat = malloc((size_t)rounds * sizeof *lat), v = 0;
    int n = 0;
    size_t len;
    uint64_t sent;
    mmf_get_v(ns, "ping", &sent, sizeof sent, &len, &v);
    while (n < rounds) {
        if (mmf_wait(ns, "ping", v, 5) != MMF_OK) break;
        uint64_t got = now_ns();
        if (mmf_get_v(ns, "ping", &sent, sizeof sent, &len, &v) != MMF_OK) break;
        lat[n++] = got - sent;
        mmf_set(ns, "pong", &n, sizeof n);
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
    uint64_t res[4] = {(uint64_t)n, pct(lat, (size_t)n, 0.5), pct(lat, (size_t)n, 0.99),
                       n ? lat[n - 1] : 0};
    mmf_set(ns, "result.waiter", res, sizeof res);
    _exit(0);
}

static void adder(int adds) {
    mmf *ns = attach();
    for (int i = 0; i < adds; i++)
        mmf_add_i64(ns, "counter", 1, NULL);
    _exit(0);
}

static void wait_all(pid_t *pids, int n) {
    for (int i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    int readers = argc > 2 ? atoi(argv[2]) : 2;
    if (seconds <= 0 || readers < 1 || readers > 64) {
        fprintf(stderr, "usage: mmf-demo [seconds per phase] [reader processes]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    mmf_unlink(NAME, NULL);
    mmf *ns;
    int rc = mmf_open_spec("name=" NAME " size=64M max_vars=100100 exclusive=1", &ns);
    if (rc) die("create", rc);
    mmf_stats st;
    mmf_stat(ns, &st);
    printf("mmf %s demo: namespace \"%s\" in POSIX shared memory (/dev/shm/%s), %llu MiB, "
           "room for %llu variables\n\n",
           mmf_version(), NAME, NAME, (unsigned long long)(st.size >> 20),
           (unsigned long long)st.max_vars);

    unsigned char v[VALUE];
    char key[17];
    uint64_t t0 = now_ns();
    for (uint32_t i = 0; i < VARS; i++) {
        key_of(key, i);
        make_value(v, i, 0);
        if ((rc = mmf_set(ns, key, v, sizeof v))) die("set", rc);
    }
    uint64_t fill = now_ns() - t0;
    printf("1. fill: %d variables (16-byte keys, 64-byte values) set in %.1f ms, %.0f ns per new "
           "variable\n",
           VARS, fill / 1e6, (double)fill / VARS);

    mmf_stat(ns, &st);
    uint64_t locks_before = st.lock_acquisitions;
    pid_t writer = fork();
    if (writer == 0) quote_writer();
    pid_t pids[64];
    for (int r = 0; r < readers; r++)
        if ((pids[r] = fork()) == 0) reader(r, seconds);
    wait_all(pids, readers);
    kill(writer, SIGKILL); /* a writer killed mid-stream: nobody is hurt */
    waitpid(writer, NULL, 0);
    mmf_stat(ns, &st);
    uint64_t writes = 0;
    size_t len;
    mmf_get(ns, "result.writer", &writes, sizeof writes, &len);
    printf("\n2. %d reader processes read random variables for %.1f s while a writer process "
           "rewrote \"quote.EURUSD\" in place:\n",
           readers, seconds);
    printf("   %-10s %14s %10s %10s %10s %10s %10s\n", "process", "gets/s", "p50 ns", "p99 ns",
           "p99.9 ns", "bad reads", "bad quotes");
    double total = 0;
    uint64_t bad = 0;
    for (int r = 0; r < readers; r++) {
        struct reader_result res;
        char rk[32];
        snprintf(rk, sizeof rk, "result.reader.%d", r);
        if (mmf_get(ns, rk, &res, sizeof res, &len)) die("reader result", MMF_ENOTFOUND);
        printf("   reader %-3d %14.0f %10llu %10llu %10llu %10llu %10llu\n", r,
               (double)res.gets / seconds, (unsigned long long)res.p50, (unsigned long long)res.p99,
               (unsigned long long)res.p999, (unsigned long long)res.bad,
               (unsigned long long)res.bad_quotes);
        total += (double)res.gets / seconds;
        bad += res.bad + res.bad_quotes;
    }
    printf("   all        %14.0f gets/s; the writer made %llu+ in-place writes; the namespace "
           "mutex was taken %llu times, once per new variable (%d), never for a write in place\n",
           total, (unsigned long long)writes,
           (unsigned long long)(st.lock_acquisitions - locks_before), readers + 2);
    struct quote q = {0};
    uint64_t t_read = now_ns();
    rc = mmf_get(ns, "quote.EURUSD", &q, sizeof q, &len);
    printf("   the writer was then killed with SIGKILL mid-stream; the quote still reads whole: "
           "seq %llu, bid %.5f, ask %.5f (%s, in %.1f us)\n",
           (unsigned long long)q.seq, q.bid, q.ask, rc == MMF_OK ? "ok" : mmf_strerror(rc),
           (now_ns() - t_read) / 1e3);
    if (rc || q.ask - q.bid < 0.00009 || q.ask - q.bid > 0.00011) bad++;

    int rounds = (int)(1000 * seconds);
    pid_t w = fork();
    if (w == 0) waiter(rounds);
    usleep(100000);
    int pong = 0;
    for (int i = 0; i < rounds; i++) {
        uint64_t pv = 0;
        mmf_get_v(ns, "pong", &pong, sizeof pong, &len, &pv);
        uint64_t sent = now_ns();
        mmf_set(ns, "ping", &sent, sizeof sent);
        if (mmf_wait(ns, "pong", pv, 5) != MMF_OK) break;
    }
    waitpid(w, NULL, 0);
    uint64_t wres[4] = {0};
    mmf_get(ns, "result.waiter", wres, sizeof wres, &len);
    printf("\n3. wake-up: a process asleep in mmf_wait, woken by another's mmf_set, %llu rounds: "
           "p50 %.1f us, p99 %.1f us, max %.1f us\n",
           (unsigned long long)wres[0], wres[1] / 1e3, wres[2] / 1e3, wres[3] / 1e3);

    enum { ADDERS = 4, ADDS = 25000 };
    for (int a = 0; a < ADDERS; a++)
        if ((pids[a] = fork()) == 0) adder(ADDS);
    wait_all(pids, ADDERS);
    int64_t counter = 0;
    mmf_get(ns, "counter", &counter, sizeof counter, &len);
    printf("\n4. counter: %d processes x %d mmf_add_i64 = %lld (%s)\n", ADDERS, ADDS,
           (long long)counter, counter == ADDERS * ADDS ? "exact" : "WRONG");

    rc = mmf_check(ns, NULL);
    mmf_stat(ns, &st);
    printf("\n5. mmf_check: %s; %llu variables, heap %llu KiB used of %llu KiB, %llu lock "
           "recoveries\n",
           rc == MMF_OK ? "ok" : mmf_strerror(rc), (unsigned long long)st.vars,
           (unsigned long long)(st.heap_used >> 10), (unsigned long long)(st.heap_size >> 10),
           (unsigned long long)st.lock_recoveries);
    mmf_close(ns);
    mmf_unlink(NAME, NULL);
    int ok = rc == MMF_OK && bad == 0 && counter == ADDERS * ADDS;
    printf("\n%s\n", ok ? "demo: all checks held" : "demo: SOMETHING WENT WRONG");
    return ok ? 0 : 1;
}
