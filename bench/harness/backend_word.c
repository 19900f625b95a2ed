/*
 * The floor for spinning waits: one shared 64-bit word per direction (and
 * one for publications), each on a cache line of its own, in memory mapped
 * before the processes fork. Sending stores the message (release); a
 * receiver spins with pause until the word differs from what it last took
 * (acquire). Nothing is claimed, checked or versioned: what a core-to-core
 * store and load cost on this machine, under which no spinning wait of
 * mmf's can go (mmf-spin).
 */
#include <stdalign.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "backend.h"

enum { PUBLISHED = 2 };
#define NOTHING_YET                                                                                \
    (UINT64_MAX - 1) /* never sent: the harness's messages are below it, and STOP                  \
                      */

struct line {
    alignas(64) _Atomic uint64_t word;
};

struct conn {
    struct line *lines; /* [side 0 -> 1, side 1 -> 0, published] */
    uint64_t taken[3];  /* per process: the last message taken from each */
};

static struct line *shared_lines;

static const char *unavailable(void) {
    return NULL;
}

static int prepare(const bench_cfg *cfg) {
    (void)cfg;
    void *p = mmap(NULL, 3 * sizeof(struct line), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    shared_lines = p;
    for (int i = 0; i < 3; i++)
        atomic_store_explicit(&shared_lines[i].word, NOTHING_YET, memory_order_relaxed);
    return 0;
}

static void *connect_(const bench_cfg *cfg) {
    (void)cfg;
    static struct conn c; /* one per process: each child has its own copy */
    c.lines = shared_lines;
    for (int i = 0; i < 3; i++)
        c.taken[i] = atomic_load_explicit(&c.lines[i].word, memory_order_acquire);
    return &c;
}

static int put(struct conn *c, int i, uint64_t msg) {
    atomic_store_explicit(&c->lines[i].word, msg, memory_order_release);
    return 0;
}

static void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Spins until the word moves; gives up after GIVE_UP seconds (a peer that
   died), looking at the clock only every 4096 rounds. */
#define GIVE_UP 10.0
static int take(struct conn *c, int i, uint64_t *msg) {
    uint64_t v;
    double until = 0;
    for (unsigned n = 1;
         (v = atomic_load_explicit(&c->lines[i].word, memory_order_acquire)) == c->taken[i]; n++) {
        relax();
        if (n % 4096 == 0) {
            double now = seconds_now();
            if (until == 0)
                until = now + GIVE_UP;
            else if (now > until)
                return -1;
        }
    }
    c->taken[i] = v;
    *msg = v;
    return 0;
}

static int send(void *c, int side, uint64_t msg) {
    return put(c, side, msg);
}

static int recv(void *c, int side, uint64_t *msg) {
    return take(c, !side, msg);
}

static int publish(void *c, uint64_t msg) {
    return put(c, PUBLISHED, msg);
}

static int subscribe_next(void *c, uint64_t *msg) {
    return take(c, PUBLISHED, msg);
}

static void disconnect(void *c) {
    (void)c;
}

static void cleanup(const bench_cfg *cfg) {
    (void)cfg;
    munmap(shared_lines, 3 * sizeof(struct line));
    shared_lines = NULL;
}

const bench_backend backend_word = {.name = "word",
                                    .unavailable = unavailable,
                                    .prepare = prepare,
                                    .connect = connect_,
                                    .send = send,
                                    .recv = recv,
                                    .publish = publish,
                                    .subscribe_next = subscribe_next,
                                    .disconnect = disconnect,
                                    .cleanup = cleanup};
