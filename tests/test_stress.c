/*
 * Many processes, more than the cores, on one key space:
 *  - a random mix of set (sizes that move values between the slot and the
 *    heap), get, delete, cas and add_i64, 1,000,000 operations in all: no
 *    torn or misplaced read, counters exact;
 *  - the same under fire: writer processes killed with SIGKILL 200 times at
 *    random instants while readers read throughout; no reader ever waits past
 *    its timeout or sees a torn value, and the namespace checks whole after.
 * Every value carries its key, a sequence number and a checksum. Seeds are
 * printed, and a failing child says which seed and operation.
 */
#include <signal.h>

#include "testutil.h"

#define KEYS 64
#define COUNTERS 8
#define PROCS 4
#define OPS_EACH 250000

static char name[128];
static const size_t sizes[] = {16, 40, 64, 65, 200, 600, 1500};

#define FAIL_IF(cond, what)                                                                        \
    do {                                                                                           \
        if (cond) {                                                                                \
            fprintf(stderr, "seed %u op %ld: %s (rc %d)\n", seed, op, what, rc);                   \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

/* One random operation; tallies[] counts this process's increments. */
static void random_op(mmf *ns, unsigned seed, unsigned *state, long op, int64_t *tallies) {
    unsigned char v[1600];
    char key[16];
    size_t len;
    uint64_t ver;
    uint32_t k = (uint32_t)(rand_r(state) % KEYS);
    snprintf(key, sizeof key, "k.%u", k);
    int r = rand_r(state) % 100, rc = 0;
    if (r < 40) {
        rc = mmf_get(ns, key, v, sizeof v, &len);
        FAIL_IF(rc != MMF_OK && rc != MMF_ENOTFOUND, "get failed");
        FAIL_IF(rc == MMF_OK && !value_ok(v, len, k), "torn or misplaced value");
    } else if (r < 65) {
        len = make_value(v, k, (uint32_t)op, sizes[rand_r(state) % 7]);
        rc = mmf_set(ns, key, v, len);
        FAIL_IF(rc != MMF_OK, "set failed");
    } else if (r < 75) {
        rc = mmf_delete(ns, key);
        FAIL_IF(rc != MMF_OK && rc != MMF_ENOTFOUND, "delete failed");
    } else if (r < 85) {
        rc = mmf_get_v(ns, key, v, sizeof v, &len, &ver);
        FAIL_IF(rc != MMF_OK && rc != MMF_ENOTFOUND, "get_v failed");
        FAIL_IF(rc == MMF_OK && !value_ok(v, len, k), "torn or misplaced value (get_v)");
        len = make_value(v, k, (uint32_t)op, sizes[rand_r(state) % 7]);
        rc = mmf_cas(ns, key, rc == MMF_OK ? ver : 0, v, len);
        FAIL_IF(rc != MMF_OK && rc != MMF_ECONFLICT, "cas failed");
    } else {
        int c = rand_r(state) % COUNTERS;
        snprintf(key, sizeof key, "counter.%d", c);
        rc = mmf_add_i64(ns, key, 1, NULL);
        FAIL_IF(rc != MMF_OK, "add failed");
        if (tallies) tallies[c]++;
    }
}

static void test_million_operations(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "stress"), 8 << 20, 256);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    unsigned base = (unsigned)time(NULL);
    printf("\n  seeds %u..%u, %d processes x %d operations\n", base, base + PROCS - 1, PROCS,
           OPS_EACH);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        if ((pids[p] = fork()) == 0) {
            mmf *me = open_ns(name, false, 30);
            CHILD_REQUIRE(me);
            unsigned seed = base + (unsigned)p, state = seed;
            int64_t tallies[COUNTERS] = {0};
            for (long op = 0; op < OPS_EACH; op++)
                random_op(me, seed, &state, op, tallies);
            char key[16];
            snprintf(key, sizeof key, "tally.%d", p);
            CHILD_REQUIRE(mmf_set(me, key, tallies, sizeof tallies) == MMF_OK);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++)
        CU_ASSERT_EQUAL(wait_child(pids[p]), 0);
    int64_t want[COUNTERS] = {0};
    for (int p = 0; p < PROCS; p++) {
        int64_t t[COUNTERS];
        size_t len;
        char key[16];
        snprintf(key, sizeof key, "tally.%d", p);
        CU_ASSERT_EQUAL_FATAL(mmf_get(ns, key, t, sizeof t, &len), MMF_OK);
        for (int c = 0; c < COUNTERS; c++)
            want[c] += t[c];
    }
    for (int c = 0; c < COUNTERS; c++) {
        char key[16];
        int64_t got = 0;
        size_t len;
        snprintf(key, sizeof key, "counter.%d", c);
        mmf_get(ns, key, &got, sizeof got, &len);
        CU_ASSERT_EQUAL(got, want[c]);
    }
    CU_ASSERT_EQUAL(mmf_check(ns, stderr), MMF_OK);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

#define WRITERS 3
#define READERS 2
#define READ_TIMEOUT 2.0

static pid_t spawn_writer(unsigned seed) {
    pid_t pid = fork();
    if (pid == 0) {
        mmf *me = open_ns(name, false, READ_TIMEOUT);
        CHILD_REQUIRE(me);
        unsigned state = seed;
        for (long op = 0;; op++)
            random_op(me, seed, &state, op, NULL);
    }
    return pid;
}

static void test_kill_writers_under_load(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "kills"), 8 << 20, 256);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    unsigned base = (unsigned)time(NULL) * 7;
    long kills_wanted = soak_count("MMF_SOAK_KILLS", 200);
    printf("\n  seed %u, %ld kills\n", base, kills_wanted);
    pid_t readers[READERS], writers[WRITERS];
    for (int r = 0; r < READERS; r++) {
        if ((readers[r] = fork()) == 0) {
            mmf *me = open_ns(name, false, READ_TIMEOUT);
            CHILD_REQUIRE(me);
            unsigned seed = base + 100 + (unsigned)r, state = seed;
            double worst = 0;
            for (long op = 0; mmf_exists(me, "stop") == 0; op++) {
                unsigned char v[1600];
                char key[16];
                size_t len;
                uint32_t k = (uint32_t)(rand_r(&state) % KEYS);
                snprintf(key, sizeof key, "k.%u", k);
                double t0 = now_s();
                int rc = mmf_get(me, key, v, sizeof v, &len);
                double took = now_s() - t0;
                if (took > worst) worst = took;
                FAIL_IF(rc != MMF_OK && rc != MMF_ENOTFOUND, "reader: get failed");
                FAIL_IF(rc == MMF_OK && !value_ok(v, len, k), "reader: torn or misplaced value");
                FAIL_IF(took > READ_TIMEOUT + 1, "reader: waited past its timeout");
            }
            printf("  reader %d: longest get %.3f ms\n", r, worst * 1e3);
            _exit(0);
        }
    }
    for (int w = 0; w < WRITERS; w++)
        writers[w] = spawn_writer(base + (unsigned)w);
    unsigned state = base;
    long kills = 0;
    for (; kills < kills_wanted; kills++) {
        usleep(2000 + (useconds_t)(rand_r(&state) % 8000));
        int w = rand_r(&state) % WRITERS;
        kill(writers[w], SIGKILL);
        CU_ASSERT_EQUAL(wait_child(writers[w]), 100 + SIGKILL); /* killed, not failed */
        writers[w] = spawn_writer(base + 1000 + (unsigned)kills);
    }
    for (int w = 0; w < WRITERS; w++) {
        kill(writers[w], SIGKILL);
        wait_child(writers[w]);
    }
    CU_ASSERT_EQUAL(mmf_set(ns, "stop", "", 0), MMF_OK);
    for (int r = 0; r < READERS; r++)
        CU_ASSERT_EQUAL(wait_child(readers[r]), 0);
    CU_ASSERT_EQUAL(mmf_check(ns, stderr), MMF_OK);
    for (uint32_t k = 0; k < KEYS; k++) {
        unsigned char v[1600];
        char key[16];
        size_t len;
        snprintf(key, sizeof key, "k.%u", k);
        int rc = mmf_get(ns, key, v, sizeof v, &len);
        CU_ASSERT(rc == MMF_ENOTFOUND || (rc == MMF_OK && value_ok(v, len, k)));
    }
    mmf_stats st;
    mmf_stat(ns, &st);
    printf("  %ld writers killed; %llu recoveries of the namespace mutex, %llu claims taken "
           "over\n",
           kills, (unsigned long long)st.lock_recoveries, (unsigned long long)st.claim_takeovers);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    static const test_case tests[] = {
        {"1,000,000 random operations from 4 processes", test_million_operations},
        {"writers killed under load (200, MMF_SOAK_KILLS), readers throughout",
         test_kill_writers_under_load},
        {NULL, NULL}};
    return run_suite("stress", tests);
}
